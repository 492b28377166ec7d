import { batchCommand } from '../bitrix24/query.js'
import type { B24Client } from '../bitrix24/client.js'
import type { DedupPolicy } from '../db/schema.js'

export interface DuplicateMatch {
  leadIds: number[]
  contactIds: number[]
}

type Multi = Array<{ VALUE?: unknown }> | undefined

function values(field: unknown): string[] {
  return ((field as Multi) ?? [])
    .map((v) => String(v.VALUE ?? '').trim())
    .filter(Boolean)
    .slice(0, 20)
}

/**
 * Look every lead's phones and e-mails up among existing leads and contacts, in one `batch`.
 * @see https://apidocs.bitrix24.com/api-reference/crm/duplicates/crm-duplicate-find-by-comm.html
 */
export async function findDuplicates(
  client: B24Client,
  leads: Array<{ id: number; fields: Record<string, unknown> }>,
): Promise<Map<number, DuplicateMatch>> {
  const cmd: Record<string, string> = {}
  for (const { id, fields } of leads) {
    const phones = values(fields.PHONE)
    const emails = values(fields.EMAIL)
    if (phones.length) cmd[`p_${id}`] = batchCommand('crm.duplicate.findbycomm', { type: 'PHONE', values: phones })
    if (emails.length) cmd[`e_${id}`] = batchCommand('crm.duplicate.findbycomm', { type: 'EMAIL', values: emails })
  }
  const out = new Map<number, DuplicateMatch>()
  if (Object.keys(cmd).length === 0) return out
  const res = await client.batch(cmd, false)
  const results = res.result as Record<string, unknown>
  for (const { id } of leads) {
    const lead = new Set<number>()
    const contact = new Set<number>()
    for (const key of [`p_${id}`, `e_${id}`]) {
      const r = results[key] as { LEAD?: unknown[]; CONTACT?: unknown[] } | unknown[] | undefined
      if (!r || Array.isArray(r)) continue
      for (const x of r.LEAD ?? []) lead.add(Number(x))
      for (const x of r.CONTACT ?? []) contact.add(Number(x))
    }
    if (lead.size || contact.size)
      out.set(id, { leadIds: [...lead].sort((a, b) => a - b), contactIds: [...contact].sort((a, b) => a - b) })
  }
  return out
}

export function describeMatch(m: DuplicateMatch): string {
  return [...m.leadIds.map((i) => `lead #${i}`), ...m.contactIds.map((i) => `contact #${i}`)].join(', ')
}

export type DedupDecision =
  | { action: 'add'; note?: string }
  | { action: 'skip'; existingLeadId: number | null; duplicateOf: string }
  | { action: 'update'; existingLeadId: number; duplicateOf: string }

/** What to do with one lead under the portal's policy. */
export function decide(policy: DedupPolicy, match: DuplicateMatch | undefined): DedupDecision {
  if (policy === 'off' || !match) return { action: 'add' }
  const duplicateOf = describeMatch(match)
  switch (policy) {
    case 'skip':
      return { action: 'skip', existingLeadId: match.leadIds[0] ?? null, duplicateOf }
    case 'update':
      // Only a lead can be updated with lead fields; a contact-only match is created and linked.
      return match.leadIds[0] !== undefined
        ? { action: 'update', existingLeadId: match.leadIds[0], duplicateOf }
        : { action: 'add', note: duplicateOf }
    case 'link':
      return { action: 'add', note: duplicateOf }
  }
}
