/**
 * Every error the app answers with: a stable code, an HTTP status and a message template.
 * Tests check codes, not wording. Below 500 the client sees the template with its detail; from
 * 500 up only the template (a fixed phrase), while the detail goes to the log
 * (src/plugins/error-handler.ts), except for the few entries marked `expose`.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    /** the fixed phrase shown instead of `message` from 500 up */
    readonly phrase: string = message,
    /** extra answer fields (below 500 only), e.g. the list of mapping problems */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message)
    this.name = 'AppError'
  }
}

/** A catalogue entry: call it for an error; its `code` and `statusCode` are there for subclasses and tests. */
export interface AppErrorFactory {
  (detail?: string): AppError
  readonly code: string
  readonly statusCode: number
}

/**
 * `expose`: from 500 up the detail is shown too. Only for entries whose detail is another
 * platform's own answer (Bitrix24's or TikTok's reason) or a missing setting's name, written by
 * our code for the person reading the tab; a failure must be visible with its reason.
 */
function define(code: string, statusCode: number, template: string, opts: { expose?: boolean } = {}): AppErrorFactory {
  const make = (detail?: string) => {
    const message = detail ? `${template}: ${detail}` : template
    return new AppError(code, statusCode, message, opts.expose ? message : template)
  }
  return Object.assign(make, { code, statusCode })
}

const mappingInvalid = define('APP_ERR_MAPPING_INVALID', 400, "The mapping does not fit this portal's lead fields")

export const Errors = {
  badRequest: define('APP_ERR_BAD_REQUEST', 400, 'Bad request'),
  unauthorized: define('APP_ERR_UNAUTHORIZED', 401, 'Not authorised'),
  forbidden: define('APP_ERR_FORBIDDEN', 403, 'Forbidden'),
  notFound: define('APP_ERR_NOT_FOUND', 404, 'Not found'),
  /** a body over BODY_LIMIT_BYTES (Fastify's own 413) */
  bodyTooLarge: define('APP_ERR_BODY_TOO_LARGE', 413, 'Request body is too large'),
  /** anything not in this catalogue: the real error is logged, the client gets this phrase */
  internal: define('APP_ERR_INTERNAL', 500, 'Internal error'),
  unknownPortal: define('APP_ERR_UNKNOWN_PORTAL', 401, 'Unknown portal'),
  badApplicationToken: define(
    'APP_ERR_BAD_APPLICATION_TOKEN',
    401,
    'application_token does not match the one stored for this portal',
  ),
  installNotVerified: define(
    'APP_ERR_INSTALL_NOT_VERIFIED',
    401,
    'The install request could not be verified with Bitrix24',
  ),
  notConfigured: define('APP_ERR_NOT_CONFIGURED', 503, 'The app is not configured', { expose: true }),
  /** Bitrix24 (the OAuth server or the portal) failed or did not answer */
  upstream: define('APP_ERR_UPSTREAM', 502, 'Bitrix24 did not complete the request', { expose: true }),
  /** the same failure when the portal must be re-authorised or is not installed: the client's part to fix */
  upstreamRefused: define('APP_ERR_UPSTREAM', 409, 'Bitrix24 did not complete the request'),
  /** the settings tab's mapping names fields this portal does not have; `errors` lists each problem */
  mappingInvalid: Object.assign(
    (errors: string[]) => {
      const e = mappingInvalid(errors.join('; '))
      return new AppError(e.code, e.statusCode, e.message, e.phrase, { errors })
    },
    { code: mappingInvalid.code, statusCode: mappingInvalid.statusCode },
  ),
  /** a webhook body that is JSON but no lead notification TikTok or a forwarder sends (tiktok/adapters.ts) */
  tiktokBody: define('APP_ERR_TIKTOK_BODY', 400, 'The body is not a TikTok lead notification'),
  /** SQLITE_BUSY/LOCKED: another process holds the database lock; answered fast with Retry-After */
  databaseBusy: define('APP_ERR_DB_BUSY', 503, 'The database is busy, try again shortly'),
  /** SQLITE_FULL/IOERR/…: the disk cannot take writes now; the real cause is logged */
  databaseUnavailable: define('APP_ERR_DB_UNAVAILABLE', 503, 'The database cannot store this now, try again later'),
  tiktokNotConfigured: define(
    'APP_ERR_TIKTOK_NOT_CONFIGURED',
    409,
    'The TikTok connection is not configured on this server (TIKTOK_APP_ID / TIKTOK_APP_SECRET)',
  ),
  tiktokGrantExpired: define(
    'APP_ERR_TIKTOK_GRANT_EXPIRED',
    409,
    'The TikTok authorisation has expired or was already used: press "Connect TikTok" again',
  ),
  tiktokAdAccountTaken: define('APP_ERR_TIKTOK_AD_ACCOUNT_TAKEN', 409, 'The ad account is already connected'),
  tiktokUpstream: define('APP_ERR_TIKTOK_UPSTREAM', 502, 'TikTok did not complete the request', { expose: true }),
  /** lead quality: the stage map names a stage the portal's CRM does not have (the detail lists them) */
  qualityUnknownStage: define(
    'APP_ERR_QUALITY_UNKNOWN_STAGE',
    400,
    'The stage map names stages this portal does not have',
  ),
  /** lead quality: the chosen CRM event set is not one of the ad account's (crm/list) */
  qualityUnknownEventSet: define(
    'APP_ERR_QUALITY_UNKNOWN_EVENT_SET',
    400,
    "This CRM event set is not one of the ad account's: create it in TikTok Events Manager, then reload",
  ),
  tooManyVerifications: define(
    'APP_ERR_TOO_MANY_VERIFICATIONS',
    429,
    'Too many sign-ins to check right now: try again in a few seconds',
  ),
  tooManyLeads: define('APP_ERR_TOO_MANY_LEADS', 413, 'Too many leads in one request'),
  unsupportedMediaType: define(
    'APP_ERR_UNSUPPORTED_MEDIA_TYPE',
    415,
    'Unsupported content type: send application/json',
  ),
  webhookBudgetExceeded: define(
    'APP_ERR_WEBHOOK_BUDGET_EXCEEDED',
    429,
    'Too many requests to this webhook URL: try again later',
  ),
} as const

/**
 * How a failed TikTok API for Business call should be handled. TikTok answers errors as HTTP 200
 * with a non-zero `code`; every answer is sorted into one of these once, in the TikTok client.
 * - rate_limited: code 40100, the app-wide quota (retried by the client, surfaced only when retries run out)
 * - token_invalid: 40104/40105, the advertiser's token is empty, invalid or revoked: reconnect needed
 * - permission: the token does not cover this ad account or form, or a permission was not granted
 * - bad_request: TikTok refused the parameters (a bug or a state we did not expect)
 * - transient: network error, timeout, 5xx or an unreadable answer: try again later
 * @see https://business-api.tiktok.com/portal/docs (return codes)
 */
export type TikTokErrorKind = 'rate_limited' | 'token_invalid' | 'permission' | 'bad_request' | 'transient'

export class TikTokApiError extends Error {
  constructor(
    /** TikTok's `code` (0 when the call never got a TikTok answer) */
    readonly code: number,
    readonly kind: TikTokErrorKind,
    /** the endpoint, e.g. `subscription/subscribe` (never a URL with secrets) */
    readonly endpoint: string,
    message: string,
    readonly requestId: string | null = null,
  ) {
    super(message)
    this.name = 'TikTokApiError'
  }
}

// ── Bitrix24 ────────────────────────────────────────────────────────────────────────────────

/**
 * How a failed Bitrix24 call should be handled. Every reply is sorted into one of these once, in
 * src/bitrix24/classify.ts.
 * - rate_limited: not executed (QUERY_LIMIT_EXCEEDED / OPERATION_TIME_LIMIT); wait and retry.
 * - transient: not executed (could not connect, 402 subscription lapse); retry later.
 * - outcome_unknown: sent, but we do not know whether it ran (timeout, reset, 5xx); reconcile before repeating a write.
 * - reauth_required: the portal's refresh token is dead; a person must open the app again.
 * - not_installed: the portal has no usable tokens (uninstalled or never verified).
 * - permanent: Bitrix24 refused this call as such (bad field, no access); repeating it cannot help.
 */
export type B24ErrorKind =
  | 'rate_limited'
  | 'transient'
  | 'outcome_unknown'
  | 'reauth_required'
  | 'not_installed'
  | 'permanent'

/**
 * The app's stable codes for a failed Bitrix24 call: one per kind, and one for the operating limit,
 * which holds one method (not the portal) and is waited out differently. Tests check these (or
 * Bitrix24's own `b24Code`), never the wording.
 */
export const B24_ERR = {
  RATE_LIMITED: 'B24_ERR_RATE_LIMITED',
  OPERATING_LIMIT: 'B24_ERR_OPERATING_LIMIT',
  TRANSIENT: 'B24_ERR_TRANSIENT',
  OUTCOME_UNKNOWN: 'B24_ERR_OUTCOME_UNKNOWN',
  REAUTH_REQUIRED: 'B24_ERR_REAUTH_REQUIRED',
  NOT_INSTALLED: 'B24_ERR_NOT_INSTALLED',
  PERMANENT: 'B24_ERR_PERMANENT',
} as const
export type B24ErrorCode = (typeof B24_ERR)[keyof typeof B24_ERR]

const B24_CODE_OF_KIND: Record<B24ErrorKind, B24ErrorCode> = {
  rate_limited: B24_ERR.RATE_LIMITED,
  transient: B24_ERR.TRANSIENT,
  outcome_unknown: B24_ERR.OUTCOME_UNKNOWN,
  reauth_required: B24_ERR.REAUTH_REQUIRED,
  not_installed: B24_ERR.NOT_INSTALLED,
  permanent: B24_ERR.PERMANENT,
}

/** Bitrix24's code for a method held by the operating limit. @see https://apidocs.bitrix24.com/settings/performance/limits.html */
export const OPERATION_TIME_LIMIT = 'OPERATION_TIME_LIMIT'

/**
 * A failed Bitrix24 call. `code` is ours (B24_ERR_*), `b24Code` is what Bitrix24 (or the network)
 * said, as messages and the delivery log show it. The original error stays reachable as a
 * non-enumerable `cause`, so spreading or serialising this error never carries it (an SDK error
 * holds the request, tokens included).
 */
export class B24Error extends Error {
  readonly code: B24ErrorCode
  declare readonly cause?: unknown

  constructor(
    /** Bitrix24's own code (QUERY_LIMIT_EXCEEDED, expired_token, ECONNRESET…) */
    readonly b24Code: string,
    readonly status: number,
    readonly kind: B24ErrorKind,
    message: string,
    cause?: unknown,
  ) {
    super(message)
    this.name = 'B24Error'
    this.code = b24Code === OPERATION_TIME_LIMIT ? B24_ERR.OPERATING_LIMIT : B24_CODE_OF_KIND[kind]
    Object.defineProperty(this, 'cause', { value: cause, enumerable: false, writable: false, configurable: true })
  }

  /** The same failure sorted as another kind (a look-up that changes nothing is safe to repeat). */
  as(kind: B24ErrorKind): B24Error {
    return new B24Error(this.b24Code, this.status, kind, this.message, this.cause)
  }
}
