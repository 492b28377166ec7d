import type { CommandError } from '../bitrix24/classify.js'
import type { B24Client } from '../bitrix24/client.js'
import { SIMPLE } from '../bitrix24/crm-mode.js'
import { CONTACT_TYPE, DEAL_TYPE } from '../bitrix24/entity-types.js'
import { batchCommand } from '../bitrix24/query.js'
import type { Lead } from '../db/schema.js'
import type { B24Error } from '../errors.js'
import { backoffDelay } from './backoff.js'
import type { PortalWorker } from './portal-worker.js'

/**
 * Leads left `sending` by a crash or an unknown outcome (timeout, reset, 5xx, an answer that did
 * not mention them): looked up in Bitrix24 by ORIGINATOR_ID + ORIGIN_ID once the request can no
 * longer be running, so a lead Bitrix24 did create is marked delivered instead of sent twice.
 * @see https://apidocs.bitrix24.com/api-reference/crm/leads/crm-lead-list.html
 * @see https://apidocs.bitrix24.com/api-reference/crm/universal/crm-item-list.html
 */

/**
 * Look up the portal's stale `sending` leads (not ones in flight in this process). Returns true
 * if it did any work.
 */
export async function reconcileStale(w: PortalWorker): Promise<boolean> {
  if (w.reconciling) return false
  const { leads, queues, options, reconcileWait } = w.ctx
  w.reconciling = true
  try {
    const cutoff = w.now() - reconcileWait
    // Ids and times first (this runs before every batch); whole rows only for the stale ones.
    const sending = (await leads.sendingTimes(w.memberId, 200)).filter((r) => !w.inFlight.has(r.id))
    const staleIds = sending.filter((r) => r.updated_at <= cutoff).map((r) => r.id)
    const fresh = sending.filter((r) => r.updated_at > cutoff)
    if (fresh.length) w.wakeAt(Math.min(...fresh.map((r) => r.updated_at)) + reconcileWait)
    if (staleIds.length === 0) return false
    // Read again by id: a row may have moved on meanwhile (the still-sending filter drops it).
    const stale = (await leads.listSending(w.memberId, staleIds.slice(0, options.batchSize))).filter(
      (r) => !w.inFlight.has(r.id),
    )
    if (stale.length === 0) return false
    await queues.run(w.memberId, () => reconcile(w, stale))
    return true
  } catch (err) {
    w.log.warn({ err, code: (err as Partial<B24Error> | null)?.b24Code }, 'reconciliation failed; retrying later')
    w.wakeAt(w.now() + backoffDelay(3, options.backoff))
    return false
  } finally {
    w.reconciling = false
  }
}

async function reconcile(w: PortalWorker, rows: Lead[]): Promise<void> {
  const { leads, options, crmModes } = w.ctx
  const client = w.client()
  if (w.mode === SIMPLE) return reconcileSimple(w, client, rows)
  const { result } = await client.call<Array<{ ID: string | number; ORIGIN_ID: string }>>('crm.lead.list', {
    // `@` is the documented IN filter: @see https://apidocs.bitrix24.com/api-reference/crm/leads/crm-lead-list.html
    filter: { ORIGINATOR_ID: options.originatorId, '@ORIGIN_ID': rows.map((r) => r.tiktok_lead_id) },
    select: ['ID', 'ORIGIN_ID'],
  })
  const found = new Map((result ?? []).map((l) => [String(l.ORIGIN_ID), Number(l.ID)]))
  const delivered = rows
    .filter((r) => found.has(r.tiktok_lead_id))
    .map((r) => ({ id: r.id, b24LeadId: found.get(r.tiktok_lead_id)! }))
  const missing = rows.filter((r) => !found.has(r.tiktok_lead_id)).map((r) => r.id)
  await leads.markDelivered(delivered, w.now())
  await leads.requeue(missing, w.now(), 'not found in Bitrix24 after an unknown outcome; sending again', w.now())
  w.log.info({ found: delivered.length, resend: missing.length }, 'reconciled leads with unknown outcome')
  // A lead list that lacks leads we sent may mean leads were turned off: ask before the resend.
  if (missing.length) w.mode = (await crmModes.detect(w.memberId, { paced: false })) ?? w.mode
}

/**
 * Simple mode: deals by originId are delivered leads; a contact without its deal is kept on
 * the lead (the resend binds to it); the rest go back to the queue. A lead sent as a lead
 * before the portal switched modes is found among leads.
 */
async function reconcileSimple(w: PortalWorker, client: B24Client, rows: Lead[]): Promise<void> {
  const { leads, options } = w.ctx
  const found = await findSimple(client, options.originatorId, rows)
  const asDeal = rows.filter((r) => found.deals.has(r.tiktok_lead_id))
  const asLead = rows.filter((r) => !found.deals.has(r.tiktok_lead_id) && found.leads.has(r.tiktok_lead_id))
  const missing = rows.filter((r) => !found.deals.has(r.tiktok_lead_id) && !found.leads.has(r.tiktok_lead_id))
  await leads.setContactIds(
    missing.flatMap((r) =>
      found.contacts.has(r.tiktok_lead_id) && r.b24_contact_id === null
        ? [{ id: r.id, contactId: found.contacts.get(r.tiktok_lead_id)! }]
        : [],
    ),
  )
  await leads.markDelivered(
    asDeal.map((r) => ({
      id: r.id,
      b24LeadId: found.deals.get(r.tiktok_lead_id)!.dealId,
      b24ContactId: found.deals.get(r.tiktok_lead_id)!.contactId ?? r.b24_contact_id,
    })),
    w.now(),
    { entity: 'deal' },
  )
  await leads.markDelivered(
    asLead.map((r) => ({ id: r.id, b24LeadId: found.leads.get(r.tiktok_lead_id)! })),
    w.now(),
  )
  await leads.requeue(
    missing.map((r) => r.id),
    w.now(),
    'not found in Bitrix24 after an unknown outcome; sending again',
    w.now(),
  )
  w.log.info(
    { deals: asDeal.length, leads: asLead.length, resend: missing.length },
    'reconciled simple-mode leads with unknown outcome',
  )
}

/**
 * After an unknown outcome in simple mode: which of these leads' deals (and contacts) exist, by
 * originId, in one batch. A lead sent as a lead before the portal switched modes is looked for
 * among leads too.
 */
export async function findSimple(
  client: B24Client,
  originatorId: string,
  rows: Lead[],
): Promise<{
  deals: Map<string, { dealId: number; contactId: number | null }>
  contacts: Map<string, number>
  leads: Map<string, number>
}> {
  const originIds = rows.map((r) => r.tiktok_lead_id)
  const filter = { originatorId, '@originId': originIds }
  const res = await client.batch(
    {
      d: batchCommand('crm.item.list', {
        entityTypeId: DEAL_TYPE,
        filter,
        select: ['id', 'originId', 'contactId', 'contactIds'],
      }),
      c: batchCommand('crm.item.list', { entityTypeId: CONTACT_TYPE, filter, select: ['id', 'originId'] }),
      // `@` is the documented IN filter: @see https://apidocs.bitrix24.com/api-reference/crm/leads/crm-lead-list.html
      l: batchCommand('crm.lead.list', {
        filter: { ORIGINATOR_ID: originatorId, '@ORIGIN_ID': originIds },
        select: ['ID', 'ORIGIN_ID'],
      }),
    },
    false,
  )
  const results = res.result as Record<string, unknown>
  const errors = res.result_error as Record<string, CommandError>
  // A failed look-up must not read as "not there": that would send the leads again.
  for (const key of ['d', 'c'])
    if (errors[key])
      throw new Error(`${key === 'd' ? 'deal' : 'contact'} look-up failed: ${errors[key]!.error ?? 'error'}`)
  const items = (key: string) => (results[key] as { items?: Array<Record<string, unknown>> } | undefined)?.items ?? []
  const deals = new Map<string, { dealId: number; contactId: number | null }>()
  for (const d of items('d')) {
    const contact = Number(d.contactId ?? (Array.isArray(d.contactIds) ? d.contactIds[0] : null))
    if (!deals.has(String(d.originId)))
      deals.set(String(d.originId), { dealId: Number(d.id), contactId: contact > 0 ? contact : null })
  }
  const contacts = new Map<string, number>()
  for (const c of items('c')) if (!contacts.has(String(c.originId))) contacts.set(String(c.originId), Number(c.id))
  const leads = new Map<string, number>()
  for (const l of Array.isArray(results.l) ? (results.l as Array<{ ID: unknown; ORIGIN_ID: unknown }>) : [])
    leads.set(String(l.ORIGIN_ID), Number(l.ID))
  return { deals, contacts, leads }
}
