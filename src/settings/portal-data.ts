import { createHash } from 'node:crypto'
import { z } from 'zod'
import type { B24Clients } from '../bitrix24/client.js'
import { batchCommand } from '../bitrix24/query.js'
import { callWithToken } from '../bitrix24/token-call.js'
import { SIMPLE, type CrmMode } from '../bitrix24/crm-mode.js'
import type { PortalQueues } from '../bitrix24/portal-queues.js'
import { systemClock } from '../clock.js'
import { CONTACT_TYPE, DEAL_TYPE } from '../bitrix24/entity-types.js'
import { isContactField } from '../mapping/item-fields.js'
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
  /** the app clock's now (routes pass app.clock's) */
  now: () => number
}

/** At most 3 at once, then 1 per 2 s: under a quarter of the smallest (2/s) budget, whatever the traffic. */
export const VERIFIER_DEFAULTS: VerifierOptions = {
  burst: 3,
  refillMs: 2000,
  failureTtlMs: 60_000,
  now: systemClock.now,
}

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

  return async function verifyUser(
    memberId: string,
    clientEndpoint: string,
    authId: string,
  ): Promise<Profile | null | typeof VERIFY_BUSY> {
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
export function createIpLimiter(limit: number, windowMs: number, now: () => number = systemClock.now) {
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

type RawField = {
  type?: string
  title?: string
  listLabel?: string
  formLabel?: string
  isMultiple?: boolean
  isReadOnly?: boolean
  isRequired?: boolean
  items?: Array<{ ID: string | number; VALUE: string }>
  upperName?: string
}

/** Item fields the app sets itself (links, ids, the origin) or that are no person's to map. */
const ITEM_FIELDS_NOT_MAPPED = new Set([
  'ID',
  'CONTACT_ID',
  'CONTACT_IDS',
  'ORIGINATOR_ID',
  'ORIGIN_ID',
  'LEAD_ID',
  'FM',
])

/**
 * Simple CRM mode: the contact's person fields and the deal's fields (crm.item.fields, camelCase)
 * under the lead-style names the mapping keeps (`upperName`: lastName → LAST_NAME); the contact's
 * `fm` becomes PHONE / EMAIL / WEB / IM. simple-mode.ts routes each name back to its item.
 * @see https://apidocs.bitrix24.com/api-reference/crm/universal/crm-item-fields.html
 */
export function simpleModeFields(
  contact: Record<string, RawField>,
  deal: Record<string, RawField>,
): Record<string, RawField & { entity: 'contact' | 'deal' }> {
  const upper = (name: string, f: RawField) =>
    f.upperName ?? (name.startsWith('UF_') ? name : name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
  const out: Record<string, RawField & { entity: 'contact' | 'deal' }> = {}
  for (const [name, f] of Object.entries(contact)) {
    const code = upper(name, f)
    if (isContactField(code)) out[code] = { ...f, entity: 'contact' }
  }
  for (const type of ['PHONE', 'EMAIL', 'WEB', 'IM'])
    out[type] = {
      type: 'crm_multifield',
      isMultiple: true,
      title: { PHONE: 'Phone', EMAIL: 'E-mail', WEB: 'Website', IM: 'Messenger' }[type]!,
      entity: 'contact',
    }
  for (const [name, f] of Object.entries(deal)) {
    const code = upper(name, f)
    if (!ITEM_FIELDS_NOT_MAPPED.has(code) && !isContactField(code)) out[code] = { ...f, entity: 'deal' }
  }
  return out
}

/**
 * The portal's lead fields (in simple CRM mode its contact and deal fields), users and
 * directories, fetched in one `batch` and cached briefly (by `now`, the app clock's).
 * @see https://apidocs.bitrix24.com/api-reference/crm/leads/crm-lead-fields.html
 */
export function createFieldsCache(
  b24: B24Clients,
  modeOf: (memberId: string) => Promise<CrmMode> = async () => 1,
  now: () => number = systemClock.now,
) {
  const cache = new Map<string, { view: FieldsView; raw: PortalFields; until: number; mode: CrmMode }>()
  async function load(memberId: string): Promise<{ view: FieldsView; raw: PortalFields }> {
    const mode = await modeOf(memberId)
    const hit = cache.get(memberId)
    if (hit && hit.until > now() && hit.mode === mode) return hit
    const simple = mode === SIMPLE
    const res = await b24.forPortal(memberId, { priority: 1 }).batch({
      ...(simple
        ? {
            contact: batchCommand('crm.item.fields', { entityTypeId: CONTACT_TYPE }),
            deal: batchCommand('crm.item.fields', { entityTypeId: DEAL_TYPE }),
          }
        : { fields: 'crm.lead.fields' }),
      users: batchCommand('user.get', { FILTER: { ACTIVE: 'Y' } }),
      sources: batchCommand('crm.status.list', { filter: { ENTITY_ID: 'SOURCE' } }),
      // Lead statuses: in simple mode the tab hides the status constant (a deal has stages instead).
      statuses: batchCommand('crm.status.list', { filter: { ENTITY_ID: 'STATUS' } }),
    })
    const r = res.result as Record<string, unknown>
    const itemFields = (key: string) => (r[key] as { fields?: Record<string, RawField> } | undefined)?.fields ?? {}
    const rawFields: Record<string, RawField & { entity?: 'contact' | 'deal' }> = simple
      ? simpleModeFields(itemFields('contact'), itemFields('deal'))
      : ((r.fields ?? {}) as Record<string, RawField>)
    const view: FieldsView = {
      crmMode: mode,
      fields: Object.entries(rawFields).map(([code, f]) => ({
        ...(f.entity ? { entity: f.entity } : {}),
        code,
        title: f.formLabel || f.listLabel || f.title || code,
        type: f.type ?? 'string',
        isMultiple: !!f.isMultiple,
        isReadOnly: !!f.isReadOnly,
        isRequired: !!f.isRequired,
        items: (f.items ?? []).map((i) => ({ id: String(i.ID), value: String(i.VALUE) })),
      })),
      users: ((r.users ?? []) as Array<{ ID: string | number; NAME?: string; LAST_NAME?: string; EMAIL?: string }>).map(
        (u) => ({
          id: Number(u.ID),
          name: [u.NAME, u.LAST_NAME].filter(Boolean).join(' ') || u.EMAIL || `#${u.ID}`,
        }),
      ),
      sources: ((r.sources ?? []) as Array<{ STATUS_ID: string; NAME: string }>).map((s) => ({
        id: s.STATUS_ID,
        name: s.NAME,
      })),
      statuses: ((r.statuses ?? []) as Array<{ STATUS_ID: string; NAME: string }>).map((s) => ({
        id: s.STATUS_ID,
        name: s.NAME,
      })),
    }
    const entry = { view, raw: rawFields as unknown as PortalFields, until: now() + FIELDS_TTL_MS, mode }
    cache.set(memberId, entry)
    return entry
  }
  return { load, forget: (memberId: string) => cache.delete(memberId) }
}
