import { createHash } from 'node:crypto'
import { z } from 'zod'
import type { B24Clients } from '../bitrix24/client.js'
import { batchCommand } from '../bitrix24/query.js'
import { callWithToken } from '../bitrix24/token-call.js'
import type { PortalQueues } from '../delivery/portal-queues.js'
import type { PortalFields } from '../mapping/schemas.js'
import type { FieldsView } from './schemas.js'

/** `profile` answer: who opened the page. @see https://apidocs.bitrix24.com/api-reference/common/users/profile.html */
export const Profile = z.object({
  ID: z.coerce.number().int().positive(),
  ADMIN: z.boolean().optional().default(false),
  NAME: z.string().nullish(),
  LAST_NAME: z.string().nullish(),
})
export type Profile = z.infer<typeof Profile>

const PROFILE_TTL_MS = 60_000
const FIELDS_TTL_MS = 60_000
const CACHE_MAX = 1000

export interface VerifierOptions {
  /** verification calls a portal may spend at once, and one more every `refillMs` (its share of the REST budget) */
  burst: number
  refillMs: number
  /** how long a refused AUTH_ID is remembered, so repeating it costs no call */
  failureTtlMs: number
  now: () => number
}

/** At most 3 at once, then 1 per 2 s: under a quarter of the smallest (2/s) budget, whatever the traffic. */
export const VERIFIER_DEFAULTS: VerifierOptions = { burst: 3, refillMs: 2000, failureTtlMs: 60_000, now: Date.now }

/** The portal's verification share is spent: answer 429 without calling Bitrix24. */
export const VERIFY_BUSY = Symbol('verify-busy')

/** A map that forgets its oldest entry past CACHE_MAX. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key)
  if (map.size >= CACHE_MAX) map.delete(map.keys().next().value!)
  map.set(key, value)
}

/**
 * Ask the portal (at the endpoint stored at install, never one from the request) who this
 * AUTH_ID belongs to. A forged or expired token fails there. Each call is spent from the portal's
 * own REST budget (the queue deliveries use), so verification gets its own small share of it: a
 * token bucket per portal, beyond which the answer is VERIFY_BUSY with no call made. Answers are
 * cached keyed by a hash of the token, refusals too, so repeating a forged token costs nothing.
 */
export function createUserVerifier(queues: PortalQueues, timeoutMs: number, options: Partial<VerifierOptions> = {}) {
  const opts = { ...VERIFIER_DEFAULTS, ...options }
  const profiles = new Map<string, { profile: Profile; until: number }>()
  const refused = new Map<string, number>()
  const inFlight = new Map<string, Promise<Profile | null>>()
  const buckets = new Map<string, { tokens: number; at: number }>()

  function take(memberId: string): boolean {
    const now = opts.now()
    const b = buckets.get(memberId) ?? { tokens: opts.burst, at: now }
    const tokens = Math.min(opts.burst, b.tokens + (now - b.at) / opts.refillMs)
    if (tokens < 1) {
      remember(buckets, memberId, { tokens, at: now })
      return false
    }
    remember(buckets, memberId, { tokens: tokens - 1, at: now })
    return true
  }

  return async function verifyUser(memberId: string, clientEndpoint: string, authId: string): Promise<Profile | null | typeof VERIFY_BUSY> {
    const key = createHash('sha256').update(`${memberId}\0${authId}`).digest('hex')
    const now = opts.now()
    const hit = profiles.get(key)
    if (hit && hit.until > now) return hit.profile
    if ((refused.get(key) ?? 0) > now) return null
    const running = inFlight.get(key)
    if (running) return running
    if (!take(memberId)) return VERIFY_BUSY
    const call = queues
      .run(
        memberId,
        async () => {
          const parsed = Profile.safeParse(await callWithToken(clientEndpoint, 'profile', authId, timeoutMs))
          return parsed.success ? parsed.data : null
        },
        1,
      )
      .then((profile) => {
        if (profile) remember(profiles, key, { profile, until: opts.now() + PROFILE_TTL_MS })
        else remember(refused, key, opts.now() + opts.failureTtlMs)
        return profile
      })
      .finally(() => inFlight.delete(key))
    inFlight.set(key, call)
    return call
  }
}

/** Requests per window per client address, for the routes anyone can POST to. */
export function createIpLimiter(limit: number, windowMs: number, now: () => number = Date.now) {
  const seen = new Map<string, { n: number; start: number }>()
  return function allow(ip: string): boolean {
    const t = now()
    const e = seen.get(ip)
    if (!e || t - e.start >= windowMs) {
      remember(seen, ip, { n: 1, start: t })
      return true
    }
    e.n += 1
    return e.n <= limit
  }
}

type RawField = { type?: string; title?: string; listLabel?: string; formLabel?: string; isMultiple?: boolean; isReadOnly?: boolean; isRequired?: boolean; items?: Array<{ ID: string | number; VALUE: string }> }

/**
 * The portal's lead fields, users and directories, fetched in one `batch` and cached briefly.
 * @see https://apidocs.bitrix24.com/api-reference/crm/leads/crm-lead-fields.html
 */
export function createFieldsCache(b24: B24Clients) {
  const cache = new Map<string, { view: FieldsView; raw: PortalFields; until: number }>()
  async function load(memberId: string): Promise<{ view: FieldsView; raw: PortalFields }> {
    const hit = cache.get(memberId)
    if (hit && hit.until > Date.now()) return hit
    const res = await b24.forPortal(memberId, { priority: 1 }).batch({
      fields: 'crm.lead.fields',
      users: batchCommand('user.get', { FILTER: { ACTIVE: 'Y' } }),
      sources: batchCommand('crm.status.list', { filter: { ENTITY_ID: 'SOURCE' } }),
      statuses: batchCommand('crm.status.list', { filter: { ENTITY_ID: 'STATUS' } }),
    })
    const r = res.result as Record<string, unknown>
    const rawFields = (r.fields ?? {}) as Record<string, RawField>
    const view: FieldsView = {
      fields: Object.entries(rawFields).map(([code, f]) => ({
        code,
        title: f.formLabel || f.listLabel || f.title || code,
        type: f.type ?? 'string',
        isMultiple: !!f.isMultiple,
        isReadOnly: !!f.isReadOnly,
        isRequired: !!f.isRequired,
        items: (f.items ?? []).map((i) => ({ id: String(i.ID), value: String(i.VALUE) })),
      })),
      users: ((r.users ?? []) as Array<{ ID: string | number; NAME?: string; LAST_NAME?: string; EMAIL?: string }>).map((u) => ({
        id: Number(u.ID),
        name: [u.NAME, u.LAST_NAME].filter(Boolean).join(' ') || u.EMAIL || `#${u.ID}`,
      })),
      sources: ((r.sources ?? []) as Array<{ STATUS_ID: string; NAME: string }>).map((s) => ({ id: s.STATUS_ID, name: s.NAME })),
      statuses: ((r.statuses ?? []) as Array<{ STATUS_ID: string; NAME: string }>).map((s) => ({ id: s.STATUS_ID, name: s.NAME })),
    }
    const entry = { view, raw: rawFields as unknown as PortalFields, until: Date.now() + FIELDS_TTL_MS }
    cache.set(memberId, entry)
    return entry
  }
  return { load, forget: (memberId: string) => cache.delete(memberId) }
}
