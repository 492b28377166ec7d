import type { B24Client } from '../bitrix24/client.js'
import { batchCommand } from '../bitrix24/query.js'
import type { DedupPolicy, Lead } from '../db/schema.js'
import { CONTACT_TYPE, DEAL_TYPE } from '../bitrix24/entity-types.js'
import { type Multi, splitFields } from '../mapping/item-fields.js'
import type { PreparedLead } from './lead-commands.js'

/**
 * Delivery to a portal in simple CRM mode (leads off): each TikTok lead becomes a contact and a
 * deal bound to it, written explicitly with the universal `crm.item.add` (entityTypeId 3, then 2)
 * in one `batch`, the deal taking the new contact's id through `$result[c_<row>][item][id]`.
 * Nothing depends on Bitrix24 converting a lead by itself. Both carry originatorId/originId, so a
 * batch whose answer was lost is found again (reconcile.ts), and a contact already on the
 * portal with the lead's phone or e-mail is reused instead of doubled.
 *
 * The mapping keeps lead field names (NAME, PHONE, SOURCE_ID, UF_CRM_…): the person's fields go
 * to the contact, the rest to the deal, each in the item API's camelCase; custom fields keep
 * their original names (`useOriginalUfNames=Y`).
 * @see https://apidocs.bitrix24.com/api-reference/crm/universal/crm-item-add.html
 * @see https://apidocs.bitrix24.com/api-reference/crm/universal/crm-item-list.html
 * @see https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html
 * @see https://apidocs.bitrix24.com/tutorials/crm/how-to-add-crm-objects/how-to-add-objects-with-crm-mode.html
 */

export const ITEM_ADD = 'crm.item.add'

function commValues(fields: Record<string, unknown>, type: 'PHONE' | 'EMAIL'): string[] {
  return (Array.isArray(fields[type]) ? (fields[type] as Multi) : [])
    .map((v) => String(v.VALUE ?? '').trim())
    .filter(Boolean)
    .slice(0, 20)
}

/**
 * Existing contacts with each lead's phones or e-mails, in one `batch` (two look-ups per lead).
 * @see https://apidocs.bitrix24.com/api-reference/crm/duplicates/crm-duplicate-find-by-comm.html
 */
export async function findContacts(client: B24Client, leads: PreparedLead[]): Promise<Map<number, number[]>> {
  const cmd: Record<string, string> = {}
  for (const { row, fields } of leads) {
    const phones = commValues(fields, 'PHONE')
    const emails = commValues(fields, 'EMAIL')
    if (phones.length)
      cmd[`p_${row.id}`] = batchCommand('crm.duplicate.findbycomm', {
        entity_type: 'CONTACT',
        type: 'PHONE',
        values: phones,
      })
    if (emails.length)
      cmd[`e_${row.id}`] = batchCommand('crm.duplicate.findbycomm', {
        entity_type: 'CONTACT',
        type: 'EMAIL',
        values: emails,
      })
  }
  const out = new Map<number, number[]>()
  if (Object.keys(cmd).length === 0) return out
  const res = await client.batch(cmd, false)
  const results = res.result as Record<string, unknown>
  for (const { row } of leads) {
    const ids = new Set<number>()
    for (const key of [`p_${row.id}`, `e_${row.id}`]) {
      const r = results[key] as { CONTACT?: unknown[] } | unknown[] | undefined
      if (!r || Array.isArray(r)) continue
      for (const x of r.CONTACT ?? []) if (Number(x) > 0) ids.add(Number(x))
    }
    // The oldest contact is the one people have been working with.
    if (ids.size)
      out.set(
        row.id,
        [...ids].sort((a, b) => a - b),
      )
  }
  return out
}

/** One lead's part of the batch. */
export interface SimplePlan {
  row: Lead
  /** the contact command's key, when a new contact is made */
  contactKey: string | null
  /** an existing contact the deal is bound to (found by phone/e-mail, or made by an earlier attempt) */
  contactId: number | null
  /** another lead of this batch whose new contact this one shares (same phone or e-mail) */
  sharesContactOf: string | null
  dealKey: string
}

export interface SimpleBatch {
  commands: Record<string, string>
  plans: SimplePlan[]
  /** `skip` policy: leads whose person is already a contact, not sent */
  skipped: Array<{ id: number; b24LeadId: number | null; duplicateOf: string }>
}

const ref = (key: string) => `$result[${key}][item][id]`

/**
 * The batch for these leads. A lead whose contact an earlier attempt made (`b24_contact_id`) or
 * the look-up found reuses it; two leads of one batch with the same phone or e-mail share one new
 * contact. Under the `skip` policy a lead whose person is already a contact is not sent.
 */
export function buildSimpleBatch(
  prepared: PreparedLead[],
  found: Map<number, number[]>,
  policy: DedupPolicy,
): SimpleBatch {
  const commands: Record<string, string> = {}
  const plans: SimplePlan[] = []
  const skipped: SimpleBatch['skipped'] = []
  const newContactByComm = new Map<string, string>()
  for (const p of prepared) {
    const id = p.row.id
    const { contact, deal } = splitFields(p.fields)
    const existing = p.row.b24_contact_id ?? found.get(id)?.[0] ?? null
    if (policy === 'skip' && p.row.b24_contact_id === null && existing !== null) {
      skipped.push({ id, b24LeadId: null, duplicateOf: (found.get(id) ?? []).map((c) => `contact #${c}`).join(', ') })
      continue
    }
    const comms = [
      ...commValues(p.fields, 'PHONE').map((v) => `p:${v.replace(/\D/g, '')}`),
      ...commValues(p.fields, 'EMAIL').map((v) => `e:${v.toLowerCase()}`),
    ]
    const shared =
      existing === null ? (comms.map((c) => newContactByComm.get(c)).find((k) => k !== undefined) ?? null) : null
    let contactKey: string | null = null
    if (existing === null && shared === null) {
      contactKey = `c_${id}`
      commands[contactKey] = batchCommand(ITEM_ADD, {
        entityTypeId: CONTACT_TYPE,
        useOriginalUfNames: 'Y',
        fields: contact,
      })
      for (const c of comms) newContactByComm.set(c, contactKey)
    }
    const dealKey = `d_${id}`
    if (existing !== null) {
      commands[dealKey] = batchCommand(ITEM_ADD, {
        entityTypeId: DEAL_TYPE,
        useOriginalUfNames: 'Y',
        fields: { ...deal, contactIds: [existing] },
      })
    } else {
      // The reference goes unencoded: Bitrix24 replaces `$result[...]` in the command text.
      commands[dealKey] =
        `${batchCommand(ITEM_ADD, { entityTypeId: DEAL_TYPE, useOriginalUfNames: 'Y', fields: deal })}&fields[contactIds][0]=${ref(contactKey ?? shared!)}`
    }
    plans.push({ row: p.row, contactKey, contactId: existing, sharesContactOf: shared, dealKey })
  }
  return { commands, plans, skipped }
}
