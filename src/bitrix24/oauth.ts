import type { Config } from '../config.js'
import { OAuthErrorAnswer, OAuthTokenAnswer } from './schemas.js'

/**
 * Errors from the OAuth server. `permanent` ones (the refresh token or the app was revoked,
 * the portal was deleted) mean the portal needs to be re-authorised by a person.
 */
export class OAuthError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly permanent: boolean,
  ) {
    super(message)
    this.name = 'OAuthError'
  }
}

// Codes after which retrying the same refresh token can never succeed.
const PERMANENT_OAUTH_ERRORS = new Set([
  'invalid_grant',
  'invalid_client',
  'invalid_request',
  'unauthorized_client',
  'expired_token',
  'wrong_client',
  'PORTAL_DELETED',
  'NOT_INSTALLED',
  'APPLICATION_NOT_FOUND',
])

/**
 * Exchange a refresh token at the configured (trusted) OAuth server.
 * The secret travels in a POST body, never a URL, so it cannot end up in access logs.
 * @see https://apidocs.bitrix24.com/api-reference/oauth/index.html
 */
export async function refreshWithOAuthServer(config: Config, refreshToken: string): Promise<OAuthTokenAnswer> {
  if (!config.B24_CLIENT_ID || !config.B24_CLIENT_SECRET) {
    throw new OAuthError('NOT_CONFIGURED', 'B24_CLIENT_ID / B24_CLIENT_SECRET are not set', false)
  }
  const body = new URLSearchParams({
    grant_type: 'refresh_token',
    client_id: config.B24_CLIENT_ID,
    client_secret: config.B24_CLIENT_SECRET,
    refresh_token: refreshToken,
  })
  let res: Response
  try {
    res = await fetch(new URL('/oauth/token/', config.B24_OAUTH_URL), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      signal: AbortSignal.timeout(config.B24_REQUEST_TIMEOUT_MS),
    })
  } catch (err) {
    throw new OAuthError('NETWORK_ERROR', `OAuth server unreachable: ${(err as Error).message}`, false)
  }
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new OAuthError('BAD_ANSWER', `OAuth server answered HTTP ${res.status} with a body that is not JSON`, false)
  }
  const failed = OAuthErrorAnswer.safeParse(json)
  if (failed.success) {
    const { error, error_description } = failed.data
    throw new OAuthError(
      error,
      `OAuth refresh refused: ${error}${error_description ? ` (${error_description})` : ''}`,
      PERMANENT_OAUTH_ERRORS.has(error),
    )
  }
  if (!res.ok) throw new OAuthError(`HTTP_${res.status}`, `OAuth server answered HTTP ${res.status}`, false)
  const ok = OAuthTokenAnswer.safeParse(json)
  if (!ok.success)
    throw new OAuthError(
      'BAD_ANSWER',
      `OAuth server answer is missing fields: ${ok.error.issues.map((i) => i.path.join('.')).join(', ')}`,
      false,
    )
  return ok.data
}

/** unix seconds at which a token from this answer expires */
export function expiresAt(answer: OAuthTokenAnswer, nowMs: number): number {
  return answer.expires ?? Math.floor(nowMs / 1000) + answer.expires_in
}
