/**
 * Every error the app answers with: a stable code, an HTTP status and a message template.
 * Tests check codes, not wording.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
  ) {
    super(message)
    this.name = 'AppError'
  }
}

function define(code: string, statusCode: number, template: string) {
  return (detail?: string) => new AppError(code, statusCode, detail ? `${template}: ${detail}` : template)
}

export const Errors = {
  badRequest: define('APP_ERR_BAD_REQUEST', 400, 'Bad request'),
  unauthorized: define('APP_ERR_UNAUTHORIZED', 401, 'Not authorised'),
  forbidden: define('APP_ERR_FORBIDDEN', 403, 'Forbidden'),
  notFound: define('APP_ERR_NOT_FOUND', 404, 'Not found'),
  unknownPortal: define('APP_ERR_UNKNOWN_PORTAL', 401, 'Unknown portal'),
  badApplicationToken: define('APP_ERR_BAD_APPLICATION_TOKEN', 401, 'application_token does not match the one stored for this portal'),
  installNotVerified: define('APP_ERR_INSTALL_NOT_VERIFIED', 401, 'The install request could not be verified with Bitrix24'),
  notConfigured: define('APP_ERR_NOT_CONFIGURED', 503, 'The app is not configured'),
  upstream: define('APP_ERR_UPSTREAM', 502, 'Bitrix24 call failed'),
} as const
