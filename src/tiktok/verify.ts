import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Is this lead callback really from TikTok? How TikTok signs LEAD callbacks is not settled
 * (tiktok.md §4), so three schemes are checked and the route decides per portal whether to
 * enforce the result or only log it:
 *
 * 1. `TikTok-Signature: t=<unix s>,s=<hex>`: hex HMAC-SHA256(app secret, `t + "." + raw body`),
 *    with the timestamp within ±toleranceS (default 300 s; Chatwoot's 5 s is too tight once clock
 *    skew and retries count). TikTok documents this for its developer-platform webhooks.
 * 2. `X-Open-Signature: <hex>`: hex HMAC-SHA256(app secret, raw body), or of the body with every
 *    non-ASCII character escaped as `\uXXXX` (lower-case hex, UTF-16 units). The research reports
 *    this header as hex (tiktok-research.md §3.3 item 2), so only hex is accepted; a value shaped
 *    like base64 is named as such in `detail` so log-only mode shows it.
 *    It carries no time, so a captured request verifies forever (a replay): `detail` says so, and
 *    TikTok-Signature is the one to prefer.
 * 3. url-key: the unguessable per-portal key in the callback URL matched (checked by the route).
 *    That is no signature: the URL is shown in the settings tab and travels in logs of proxies.
 *
 * Precedence: a TikTok-Signature header decides when present, else X-Open-Signature, else the URL
 * key. A header cannot be checked without a secret, so with no secret configured the URL key
 * decides even when a header is present (otherwise a portal without the app secret could never
 * accept a signed lead). With `requireSignature` (the portal's enforce mode) the URL key never
 * decides: a request without a verified header signature, or with a blank one, is not valid.
 *
 * Always verify the raw bytes as received, never re-serialised JSON.
 * @see https://developers.tiktok.com/doc/webhooks-verification
 */

export type SignatureScheme = 'tiktok-signature' | 'x-open-signature' | 'url-key'

export interface VerifyInput {
  rawBody: Buffer
  headers: Record<string, string | string[] | undefined>
  /** Current secret first, then the previous one during its grace period. */
  secrets: string[]
  urlKeyMatched: boolean
  /** Enforce mode: only a verified header signature is valid; a matched URL key is not enough. */
  requireSignature?: boolean
  nowMs: number
  /** Allowed clock difference for TikTok-Signature timestamps, both ways; default 300. */
  toleranceS?: number
}

export interface VerifyResult {
  scheme: SignatureScheme | 'none'
  valid: boolean
  /** One line for the delivery log, e.g. 'TikTok-Signature timestamp 812 s old'. Never holds a secret. */
  detail: string
  /** A header signature (either scheme) verified, timestamp included. */
  signatureValid: boolean
}

export const DEFAULT_TOLERANCE_S = 300

export function verifyTikTokRequest(input: VerifyInput): VerifyResult {
  const secrets = input.secrets.filter((s) => s.length > 0)
  const tiktokSignature = readHeader(input.headers, 'tiktok-signature')
  const openSignature = readHeader(input.headers, 'x-open-signature')

  if (secrets.length > 0) {
    if (tiktokSignature !== undefined) {
      return checkTikTokSignature(
        tiktokSignature,
        input.rawBody,
        secrets,
        input.nowMs,
        input.toleranceS ?? DEFAULT_TOLERANCE_S,
      )
    }
    if (openSignature !== undefined) return checkXOpenSignature(openSignature, input.rawBody, secrets)
  }

  const headerName =
    tiktokSignature !== undefined ? 'TikTok-Signature' : openSignature !== undefined ? 'X-Open-Signature' : null
  if (input.requireSignature) {
    const why = headerName
      ? `${headerName} cannot be checked: no secret configured`
      : 'no signature header (a blank one counts as none)'
    return {
      scheme:
        headerName === 'TikTok-Signature'
          ? 'tiktok-signature'
          : headerName === 'X-Open-Signature'
            ? 'x-open-signature'
            : 'none',
      valid: false,
      signatureValid: false,
      detail: `${why}; enforce mode accepts only a verified TikTok-Signature or X-Open-Signature`,
    }
  }
  if (input.urlKeyMatched) {
    const note = headerName ? ` (${headerName} not checked: no app secret configured)` : ' (no signature header)'
    return { scheme: 'url-key', valid: true, signatureValid: false, detail: `URL key matched${note}` }
  }
  if (headerName) {
    return {
      scheme: headerName === 'TikTok-Signature' ? 'tiktok-signature' : 'x-open-signature',
      valid: false,
      signatureValid: false,
      detail: `${headerName} present but no app secret is configured, and no URL key matched`,
    }
  }
  return {
    scheme: 'none',
    valid: false,
    signatureValid: false,
    detail: 'no TikTok-Signature or X-Open-Signature header and no URL key',
  }
}

/** The TikTok-Signature header value for `rawBody` at `tSeconds`: `t=…,s=…`. */
export function signTikTokSignature(secret: string, rawBody: Buffer | string, tSeconds: number): string {
  const t = String(Math.floor(tSeconds))
  return `t=${t},s=${tiktokHmac(secret, t, toBuffer(rawBody)).toString('hex')}`
}

/**
 * Appended to every valid X-Open-Signature detail: the header signs the body only, so the settings
 * tab can tell the admin that such a request could be replayed and the timed scheme is better.
 */
export const X_OPEN_SIGNATURE_REPLAY_NOTE = 'no timestamp: replayable; prefer TikTok-Signature'

/** The X-Open-Signature header value for `rawBody`: hex HMAC-SHA256 of the raw body. */
export function signXOpenSignature(secret: string, rawBody: Buffer | string): string {
  return hmac(secret, toBuffer(rawBody)).toString('hex')
}

// ---------------------------------------------------------------------------------------------

function checkTikTokSignature(
  value: string,
  rawBody: Buffer,
  secrets: string[],
  nowMs: number,
  toleranceS: number,
): VerifyResult {
  const fail = (detail: string): VerifyResult => ({
    scheme: 'tiktok-signature',
    valid: false,
    signatureValid: false,
    detail,
  })

  // "t=1633174587,s=1849…": split on ',' then on the first '='; several s= are allowed (rotation).
  let t: string | undefined
  const candidates: Buffer[] = []
  let sCount = 0
  for (const part of value.split(',')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    const key = part.slice(0, eq).trim().toLowerCase()
    const v = part.slice(eq + 1).trim()
    if (key === 't' && t === undefined) t = v
    else if (key === 's') {
      sCount++
      const sig = decodeHexSha256(v)
      if (sig) candidates.push(sig)
    }
  }
  if (t === undefined || !/^\d{1,12}$/.test(t)) return fail('TikTok-Signature malformed: no t=<unix seconds>')
  if (sCount === 0) return fail('TikTok-Signature malformed: no s=<hex signature>')
  if (candidates.length === 0) return fail('TikTok-Signature malformed: s is not a 64-character hex HMAC-SHA256')

  const matched = firstMatchingSecret(secrets, (secret) => tiktokHmac(secret, t, rawBody), candidates)
  if (matched < 0) return fail(`TikTok-Signature mismatch${mismatchHint(rawBody, t, secrets, candidates)}`)

  const ageS = Math.round(nowMs / 1000 - Number(t))
  if (ageS > toleranceS) return fail(`TikTok-Signature timestamp ${ageS} s old`)
  if (-ageS > toleranceS) return fail(`TikTok-Signature timestamp ${-ageS} s in the future`)
  return {
    scheme: 'tiktok-signature',
    valid: true,
    signatureValid: true,
    detail: `TikTok-Signature valid${matched > 0 ? ' (previous secret)' : ''}`,
  }
}

/**
 * When a TikTok-Signature does not match, say whether a near-miss message would have: that is
 * how log-only mode settles the open question of what TikTok really signs (research §9).
 */
function mismatchHint(rawBody: Buffer, t: string, secrets: string[], candidates: Buffer[]): string {
  if (firstMatchingSecret(secrets, (s) => hmac(s, rawBody), candidates) >= 0) {
    return ' (it matches an HMAC of the body alone, without "t.")'
  }
  if (firstMatchingSecret(secrets, (s) => hmac(s, Buffer.concat([Buffer.from(t), rawBody])), candidates) >= 0) {
    return ' (it matches an HMAC of t + body without the ".")'
  }
  return ''
}

function checkXOpenSignature(value: string, rawBody: Buffer, secrets: string[]): VerifyResult {
  const fail = (detail: string): VerifyResult => ({
    scheme: 'x-open-signature',
    valid: false,
    signatureValid: false,
    detail,
  })
  const sig = decodeHexSha256(value.replace(/^sha256=/i, ''))
  if (!sig) {
    const looksBase64 = /^[A-Za-z0-9+/]{43}=$/.test(value)
    return fail(
      `X-Open-Signature malformed: expected 64 hex characters${looksBase64 ? ' (the value looks like base64)' : ''}`,
    )
  }
  const previous = (i: number) => (i > 0 ? ', previous secret' : '')
  const plain = firstMatchingSecret(secrets, (s) => hmac(s, rawBody), [sig])
  if (plain >= 0) {
    return {
      scheme: 'x-open-signature',
      valid: true,
      signatureValid: true,
      detail: `X-Open-Signature valid (${X_OPEN_SIGNATURE_REPLAY_NOTE}${previous(plain)})`,
    }
  }
  if (hasNonAscii(rawBody)) {
    const escaped = Buffer.from(escapeNonAscii(rawBody.toString('utf8')), 'utf8')
    const esc = firstMatchingSecret(secrets, (s) => hmac(s, escaped), [sig])
    if (esc >= 0) {
      return {
        scheme: 'x-open-signature',
        valid: true,
        signatureValid: true,
        detail: `X-Open-Signature valid (body with non-ASCII escaped as \\uXXXX${previous(esc)}; ${X_OPEN_SIGNATURE_REPLAY_NOTE})`,
      }
    }
  }
  return fail('X-Open-Signature mismatch')
}

/** Index of the first secret whose digest equals one of the candidates, or -1. Constant-time per comparison. */
function firstMatchingSecret(secrets: string[], digest: (secret: string) => Buffer, candidates: Buffer[]): number {
  for (let i = 0; i < secrets.length; i++) {
    const expected = digest(secrets[i] as string)
    for (const candidate of candidates) {
      // Both are 32-byte SHA-256 digests (decodeHexSha256 guarantees it), as timingSafeEqual requires.
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return i
    }
  }
  return -1
}

function tiktokHmac(secret: string, t: string, rawBody: Buffer): Buffer {
  // The timestamp is signed exactly as it appears in the header, followed by "." and the raw body.
  return createHmac('sha256', secret).update(`${t}.`, 'utf8').update(rawBody).digest()
}

function hmac(secret: string, message: Buffer): Buffer {
  return createHmac('sha256', secret).update(message).digest()
}

function decodeHexSha256(value: string): Buffer | null {
  return /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : null
}

function hasNonAscii(buf: Buffer): boolean {
  for (const byte of buf) if (byte >= 0x80) return true
  return false
}

/** "äöå" → "\u00e4\u00f6\u00e5"; characters beyond the BMP become their two surrogate escapes. */
export function escapeNonAscii(text: string): string {
  return text.replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Header lookup that ignores case; a repeated header counts by its first value, a blank one as absent. */
function readHeader(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  for (const [key, raw] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue
    const value = Array.isArray(raw) ? raw[0] : raw
    if (value !== undefined && value.trim() !== '') return value.trim()
  }
  return undefined
}

function toBuffer(body: Buffer | string): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body
}
