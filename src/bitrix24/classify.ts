import { AjaxError } from '@bitrix24/b24jssdk'
import { B24Error, OPERATION_TIME_LIMIT } from '../errors.js'
import { OAuthError } from './oauth.js'

/**
 * The one place a Bitrix24 failure is sorted: a whole call's error (classifyError) and a batch
 * command's `result_error` entry (classifyCommandError). Callers act on the kind, never on a code.
 * @see https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html
 * @see https://apidocs.bitrix24.com/limits.html
 */

// Connection never established: the request cannot have run.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_INVALID_URL',
])
const RATE_CODES = new Set(['QUERY_LIMIT_EXCEEDED', OPERATION_TIME_LIMIT])
// Sent, and the answer is lost or a server error: it may have run.
const UNKNOWN_OUTCOME_CODES = new Set(['REQUEST_TIMEOUT', 'NETWORK_ERROR', 'ECONNRESET', 'ECONNABORTED', 'EPIPE'])
const REAUTH_CODES = new Set(['expired_token', 'invalid_token', 'NO_AUTH_FOUND'])
// Codes the HTTP client makes up when the answer carried no Bitrix24 `error` (axios ERR_*, the SDK's JSSDK_*).
// A Bitrix24 error code is one word (ERROR_CORE, invalid_token); a web server's own JSON 404 says "Not Found".
const BITRIX24_CODE_SHAPE = /^[A-Za-z0-9_]+$/
const NOT_BITRIX24_CODE =
  /^(ERR_BAD_REQUEST|ERR_BAD_RESPONSE|JSSDK_AXIOS_ERROR|JSSDK_INTERNAL_AJAX_ERROR|JSSDK_RESPONSE_ERROR)$/

/** A whole call's failure (the SDK's AjaxError, a refused refresh, anything thrown) as a B24Error. */
export function classifyError(err: unknown): B24Error {
  if (err instanceof B24Error) return err
  if (err instanceof AjaxError) {
    const original = (err as unknown as { originalError?: unknown }).originalError
    if (original instanceof OAuthError) return fromOAuthError(original)
    const code = String(err.code)
    const status = err.status
    const message = `${code}: ${err.message}`
    if (RATE_CODES.has(code)) return new B24Error(code, status, 'rate_limited', message, err)
    if (NOT_SENT_CODES.has(code)) return new B24Error(code, status, 'transient', message, err)
    if (code === 'PAYMENT_REQUIRED' || status === 402) return new B24Error(code, status, 'transient', message, err)
    if (UNKNOWN_OUTCOME_CODES.has(code) || status === 0 || status >= 500)
      return new B24Error(code, status, 'outcome_unknown', message, err)
    if (REAUTH_CODES.has(code)) return new B24Error(code, status, 'reauth_required', message, err)
    // An HTTP error with no Bitrix24 error in it (a 404 page from a wrong or moved endpoint, a
    // proxy's 4xx): the portal did not run the method, so it is the portal's failure, not the call's.
    if (NOT_BITRIX24_CODE.test(code) || !BITRIX24_CODE_SHAPE.test(code))
      return new B24Error(code, status, 'transient', `HTTP ${status} without a Bitrix24 error (${err.message})`, err)
    return new B24Error(code, status, 'permanent', message, err)
  }
  if (err instanceof OAuthError) return fromOAuthError(err)
  return new B24Error('UNKNOWN', 0, 'outcome_unknown', err instanceof Error ? err.message : String(err), err)
}

function fromOAuthError(e: OAuthError): B24Error {
  return new B24Error(e.code, 401, e.permanent ? 'reauth_required' : 'transient', e.message, e)
}

/** One command's entry in a batch answer's `result_error`. */
export interface CommandError {
  error?: string
  error_description?: string
}

// Command-level errors after which the same command may well succeed later.
const TRANSIENT_COMMAND_ERRORS = new Set([
  'QUERY_LIMIT_EXCEEDED',
  'INTERNAL_SERVER_ERROR',
  'ERROR_CORE',
  'PAYMENT_REQUIRED',
])

/**
 * What a batch command's error means for the lead it carried:
 * - limited: OPERATION_TIME_LIMIT, the method is held until its reset; not run, so not an attempt;
 * - retry: the same command may well succeed later;
 * - failed: Bitrix24 refused this command (a bad field, no access); `error` is what the delivery log shows.
 * `what` names the refused thing when Bitrix24 gave no description ("the lead", "the deal").
 */
export function classifyCommandError(
  err: CommandError,
  what = 'the lead',
): { kind: 'limited' | 'retry' } | { kind: 'failed'; error: string } {
  const code = String(err.error ?? '')
  if (code === OPERATION_TIME_LIMIT) return { kind: 'limited' }
  if (TRANSIENT_COMMAND_ERRORS.has(code)) return { kind: 'retry' }
  return { kind: 'failed', error: `${code || 'error'}: ${err.error_description ?? `Bitrix24 refused ${what}`}` }
}

/**
 * A failure of a whole request, from a caller that did not get a B24Error (anything thrown):
 * `unknown` is the kind to assume, `outcome_unknown` for a write that may have run.
 */
export function asB24Error(err: unknown, unknown: 'outcome_unknown' | 'transient'): B24Error {
  return err instanceof B24Error ? err : new B24Error('UNKNOWN', 0, unknown, String(err), err)
}
