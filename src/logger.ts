import type { LoggerOptions } from 'pino'

/** Field names that hold credentials anywhere they appear in a logged object. */
export const SECRET_KEYS = [
  'access_token',
  'refresh_token',
  'application_token',
  'client_secret',
  'AUTH_ID',
  'REFRESH_ID',
  'auth',
  'secret',
  'signing_secret',
  'previous_secret',
  'webhook_key',
  'session',
  'csrf',
  'authorization',
  'cookie',
  'auth_code',
  'token_sealed',
]

export const redactPaths = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["tiktok-signature"]',
  'req.headers["x-open-signature"]',
]

// Path segments after these prefixes are secrets (per-portal webhook keys).
const SECRET_PATH = /^(\/tiktok\/webhook\/)[^/?]+/
// TikTok's OAuth redirect carries the single-use auth_code (also as `code`) and our signed state.
const SECRET_QUERY =
  /([?&](?:auth|AUTH_ID|REFRESH_ID|access_token|refresh_token|key|session|csrf|auth_code|code|state|secret)=)[^&]*/gi

/** A URL safe to log: webhook keys and token-bearing query values replaced. */
export function safeUrl(url: string): string {
  return url.replace(SECRET_PATH, '$1[REDACTED]').replace(SECRET_QUERY, '$1[REDACTED]')
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: redactPaths, censor: '[REDACTED]' },
    serializers: {
      req(req: { method: string; url: string; ip?: string; id?: string }) {
        return { method: req.method, url: safeUrl(req.url), ip: req.ip, id: req.id }
      },
    },
  }
}
