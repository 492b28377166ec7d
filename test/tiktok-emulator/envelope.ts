/**
 * TikTok's answer envelope and return codes. Every API answer is HTTP 200 with
 * `{code, message, request_id, data}`; a non-zero `code` is the error ("the return code takes
 * precedence over the HTTP status").
 *
 * Codes and meanings from TikTok's return-code page (business-api.tiktok.com/portal/docs?id=1737172488964097),
 * as catalogued in api-evangelist/tiktok-ads `errors/tiktok-ads-error-codes.yml`; the 40104
 * message is the one a live unauthenticated call returned (same file, `observed`).
 */
import { randomBytes } from 'node:crypto'

export const CODE = {
  OK: 0,
  /** "No permission to perform the related operation." */
  NO_PERMISSION: 40001,
  /** "Parameter error." e.g. "Missing required field(s): account_id." */
  PARAM: 40002,
  /** "The operation/object does not exist." */
  NOT_FOUND: 40007,
  /** "Requests made too frequently": the developer app's rate limit. */
  RATE_LIMIT: 40100,
  /** "Invalid parameter values for authentication": secret and app ID do not match. */
  APP_AUTH: 40101,
  /** "The access token is empty." */
  TOKEN_EMPTY: 40104,
  /** "Invalid or incorrect access token." (also a revoked one) */
  TOKEN_INVALID: 40105,
  /** "Invalid authorization code": cancelled, already used or expired. */
  AUTH_CODE: 40110,
  /** "Task is not ready." */
  TASK_NOT_READY: 40201,
  /** "The file does not exist." */
  FILE_NOT_FOUND: 40905,
  /** "System error" (System related): TikTok's side failed; a retry may pass. */
  SYSTEM: 50000,
} as const

export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

export const MESSAGES = {
  tokenEmpty: 'Access token is null, you should set it in http header with key Access-Token.',
  // Wording quoted in a StackExchange question mirrored at volcengine.com/article/1422075.
  tokenInvalid: 'Access token is incorrect or has been revoked.',
  rateLimit: 'Too many requests. Please retry in some time.',
  appAuth: 'Invalid app_id or secret.',
  system: 'System error',
} as const

/** TikTok request ids look like `2025040312345678901234567890ABCD`: a UTC timestamp and hex. */
export function requestId(nowMs: number): string {
  const stamp = new Date(nowMs)
    .toISOString()
    .replace(/[-:TZ.]/g, '')
    .slice(0, 14)
  return `${stamp}${randomBytes(9).toString('hex').toUpperCase()}`
}

export interface Envelope {
  code: number
  message: string
  request_id: string
  data: unknown
}

export function ok(nowMs: number, data: unknown): Envelope {
  return { code: CODE.OK, message: 'OK', request_id: requestId(nowMs), data }
}

/** Errors carry an empty `data` object (api-evangelist errors yml: "data: {} on error"). */
export function fail(nowMs: number, code: number, message: string): Envelope {
  return { code, message, request_id: requestId(nowMs), data: {} }
}

const SECRET_KEYS = new Set(['secret', 'access_token', 'auth_code'])

/** Copies a query or body with secrets replaced, for `calls`. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, inner] of Object.entries(value)) {
      out[key] = SECRET_KEYS.has(key) && typeof inner === 'string' ? '[redacted]' : redact(inner)
    }
    return out
  }
  return value
}
