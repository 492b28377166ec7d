import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'

/**
 * The OAuth `state` for "Connect TikTok": signed (a forged one fails), bound to one portal and one
 * user, short-lived, and single-use (its nonce is also stored and deleted on first use; see
 * TikTokRepository.consumeState). TikTok hands it back unchanged on the redirect.
 * @see https://datatracker.ietf.org/doc/html/rfc6749#section-10.12 (CSRF protection with state)
 */
const StatePayload = z.object({
  n: z.string().min(16),
  m: z.string().min(1),
  u: z.number().int(),
  exp: z.number().int(),
})
export type StatePayload = z.infer<typeof StatePayload>

export const STATE_TTL_MS = 10 * 60_000

export function createStateSigner(secret: string) {
  const mac = (data: string) => createHmac('sha256', secret).update(`tiktok-oauth-state.${data}`).digest('base64url')
  return {
    sign(memberId: string, userId: number, nowMs: number): { state: string; payload: StatePayload } {
      const payload = { n: randomBytes(18).toString('base64url'), m: memberId, u: userId, exp: nowMs + STATE_TTL_MS }
      const data = Buffer.from(JSON.stringify(payload)).toString('base64url')
      return { state: `${data}.${mac(data)}`, payload }
    },
    /** The payload, or null for anything forged, tampered, malformed or expired. */
    verify(state: string | undefined, nowMs: number): StatePayload | null {
      if (!state || state.length > 1024) return null
      const [data, sig, extra] = state.split('.')
      if (!data || !sig || extra !== undefined) return null
      const want = Buffer.from(mac(data))
      const got = Buffer.from(sig)
      if (want.length !== got.length || !timingSafeEqual(want, got)) return null
      let parsed
      try {
        parsed = StatePayload.safeParse(JSON.parse(Buffer.from(data, 'base64url').toString('utf8')))
      } catch {
        return null
      }
      if (!parsed.success || parsed.data.exp <= nowMs) return null
      return parsed.data
    },
  }
}
