import { createHmac, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'

/**
 * Settings-page sessions. Browsers block third-party cookies inside the Bitrix24 iframe, so the
 * page carries a short-lived signed token instead, bound to one portal and one user. The key is
 * derived per portal, so a token made for one portal can never pass as another's.
 */
export const Session = z.object({
  /** member_id */
  m: z.string(),
  /** Bitrix24 user id */
  u: z.number().int(),
  /** portal administrator */
  a: z.boolean(),
  /** display name */
  n: z.string(),
  /** page language, so later answers speak the language the page was opened in */
  l: z.enum(['en', 'ru', 'vn']).default('en'),
  /** expiry, unix ms */
  exp: z.number().int(),
})
export type Session = z.infer<typeof Session>

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url')

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export type SessionSigner = ReturnType<typeof createSessionSigner>

export function createSessionSigner(secret: string, ttlMs = 60 * 60_000, now: () => number = Date.now) {
  const keyFor = (memberId: string) => createHmac('sha256', secret).update(`portal:${memberId}`).digest()
  const mac = (memberId: string, purpose: string, data: string) =>
    b64(createHmac('sha256', keyFor(memberId)).update(`${purpose}.${data}`).digest())

  return {
    sign(s: Omit<Session, 'exp' | 'l'> & { l?: Session['l'] }): string {
      const payload = b64(JSON.stringify({ ...s, exp: now() + ttlMs }))
      return `${payload}.${mac(s.m, 'session', payload)}`
    },
    /** The session, or null for anything forged, tampered, malformed or expired. */
    verify(token: string | undefined): Session | null {
      if (!token || token.length > 2048) return null
      const [payload, sig, extra] = token.split('.')
      if (!payload || !sig || extra !== undefined) return null
      let parsed
      try {
        parsed = Session.safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')))
      } catch {
        return null
      }
      if (!parsed.success) return null
      if (!equal(sig, mac(parsed.data.m, 'session', payload))) return null
      if (parsed.data.exp <= now()) return null
      return parsed.data
    },
    /** The CSRF token that goes with a session token (sent in a separate header on every change). */
    csrfFor(token: string, memberId: string): string {
      return mac(memberId, 'csrf', token)
    },
    checkCsrf(token: string, memberId: string, csrf: string | undefined): boolean {
      return !!csrf && equal(csrf, mac(memberId, 'csrf', token))
    },
  }
}
