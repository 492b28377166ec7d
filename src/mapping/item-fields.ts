/**
 * Which lead-mode field goes where in simple CRM mode (leads off): the mapping keeps lead field
 * names (NAME, PHONE, SOURCE_ID, UF_CRM_…); the person's fields go to the contact, the rest to the
 * deal, each in the universal item API's camelCase; custom fields keep their original names.
 * @see https://apidocs.bitrix24.com/api-reference/crm/universal/crm-item-add.html
 */

/** Lead fields that belong to the contact (the person), as the item API names them. */
const CONTACT_FIELDS: Record<string, string> = {
  NAME: 'name',
  LAST_NAME: 'lastName',
  SECOND_NAME: 'secondName',
  HONORIFIC: 'honorific',
  BIRTHDATE: 'birthdate',
  POST: 'post',
}
/** Copied to the contact as well as to the deal: where the person came from and who owns them. */
const SHARED_FIELDS = ['SOURCE_ID', 'SOURCE_DESCRIPTION', 'ASSIGNED_BY_ID', 'OPENED']
export const MULTIFIELDS = ['PHONE', 'EMAIL', 'WEB', 'IM']
/** Lead fields a deal does not have (the lead's stage, its address block, a company name): left out. */
const LEAD_ONLY = /^(STATUS_ID|STATUS_DESCRIPTION|COMPANY_TITLE|ADDRESS(_.*)?|ORIGINATOR_ID|ORIGIN_ID|ID)$/

/** UPPER_SNAKE → the item API's camelCase (UTM_SOURCE → utmSource, ASSIGNED_BY_ID → assignedById). */
export function itemFieldName(upper: string): string {
  if (upper.startsWith('UF_')) return upper
  return upper.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

/** Is this lead-mode field written on the contact rather than the deal? (The mapping editor groups by it.) */
export function isContactField(upper: string): boolean {
  return upper in CONTACT_FIELDS || MULTIFIELDS.includes(upper)
}

export type Multi = Array<{ VALUE?: unknown; VALUE_TYPE?: unknown }>

function fm(fields: Record<string, unknown>): Array<{ typeId: string; valueType: string; value: string }> {
  const out: Array<{ typeId: string; valueType: string; value: string }> = []
  for (const type of MULTIFIELDS) {
    for (const v of Array.isArray(fields[type]) ? (fields[type] as Multi) : []) {
      const value = String(v.VALUE ?? '').trim()
      if (value) out.push({ typeId: type, valueType: String(v.VALUE_TYPE ?? 'WORK'), value })
    }
  }
  return out
}

/** The lead's mapped fields split into the contact's and the deal's item fields. */
export function splitFields(fields: Record<string, unknown>): {
  contact: Record<string, unknown>
  deal: Record<string, unknown>
} {
  const contact: Record<string, unknown> = {}
  const deal: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) {
    if (key in CONTACT_FIELDS) contact[CONTACT_FIELDS[key]!] = value
    else if (MULTIFIELDS.includes(key) || LEAD_ONLY.test(key)) continue
    else {
      deal[itemFieldName(key)] = value
      if (SHARED_FIELDS.includes(key)) contact[itemFieldName(key)] = value
    }
  }
  const comms = fm(fields)
  if (comms.length) contact.fm = comms
  // Set last, as on leads: how a sent lead is found again (the ORIGIN_ID is the TikTok lead id).
  for (const target of [contact, deal]) {
    target.originatorId = fields.ORIGINATOR_ID
    target.originId = fields.ORIGIN_ID
  }
  return { contact, deal }
}
