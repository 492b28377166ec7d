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

/**
 * Ask the portal (at the endpoint stored at install, never one from the request) who this
 * AUTH_ID belongs to. A forged or expired token fails there. Answers are cached briefly, keyed by
 * a hash of the token, so reloading the page does not cost a REST call each time.
 */
export function createUserVerifier(queues: PortalQueues, timeoutMs: number) {
  const cache = new Map<string, { profile: Profile; until: number }>()
  return async function verifyUser(memberId: string, clientEndpoint: string, authId: string): Promise<Profile | null> {
    const key = createHash('sha256').update(`${memberId}\0${authId}`).digest('hex')
    const hit = cache.get(key)
    if (hit && hit.until > Date.now()) return hit.profile
    const profile = await queues.run(
      memberId,
      async () => {
        const parsed = Profile.safeParse(await callWithToken(clientEndpoint, 'profile', authId, timeoutMs))
        return parsed.success ? parsed.data : null
      },
      1,
    )
    if (profile) {
      if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!)
      cache.set(key, { profile, until: Date.now() + PROFILE_TTL_MS })
    }
    return profile
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
