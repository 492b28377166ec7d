/**
 * crm.lead.* — leads as crm.lead.get returns them: every standard field present (null when
 * empty), ids as strings, multifields as lists of {ID, VALUE_TYPE, VALUE, TYPE_ID} present only
 * when filled, user fields present (null or [] when empty).
 *
 * Simple CRM mode (crmMode 2) has no leads to keep: crm.lead.add still answers an id, and a lead
 * with a first name is converted at once (STATUS_ID CONVERTED, a contact and a deal created).
 * @see tutorials/crm/how-to-add-crm-objects/how-to-add-objects-with-crm-mode.md
 * @see api-reference/crm/leads/crm-lead-get.md (record shape)
 */
import { contactSpec } from './crm-contact.js'
import { dealSpec } from './crm-deal.js'
import { entityMethods } from './crm-entity.js'
import { fieldTable, isoDate, type EntitySpec } from './crm-entity-spec.js'
import { semanticLetter } from '../state.js'
import { listEntities } from './crm-list.js'
import type { CallContext, MethodTable } from './registry.js'

/** @see api-reference/crm/leads/crm-lead-fields.md */
export const LEAD_FIELDS = fieldTable([
  ['ID', 'integer', 'ID', 'r'],
  ['TITLE', 'string', 'Lead Title'],
  ['HONORIFIC', 'crm_status', 'Salutation', '', 'HONORIFIC'],
  ['NAME', 'string', 'First Name'],
  ['SECOND_NAME', 'string', 'Middle Name'],
  ['LAST_NAME', 'string', 'Last Name'],
  ['BIRTHDATE', 'date', 'Birthdate'],
  ['COMPANY_TITLE', 'string', 'Company Name'],
  ['SOURCE_ID', 'crm_status', 'Source', '', 'SOURCE'],
  ['SOURCE_DESCRIPTION', 'string', 'Source Description'],
  ['STATUS_ID', 'crm_status', 'Stage', '', 'STATUS'],
  ['STATUS_DESCRIPTION', 'string', 'Stage Description'],
  ['STATUS_SEMANTIC_ID', 'string', 'Status Semantic', 'r'],
  ['POST', 'string', 'Position'],
  ['ADDRESS', 'string', 'Address'],
  ['ADDRESS_2', 'string', 'Address (Line 2)'],
  ['ADDRESS_CITY', 'string', 'City'],
  ['ADDRESS_POSTAL_CODE', 'string', 'Postal Code'],
  ['ADDRESS_REGION', 'string', 'Region'],
  ['ADDRESS_PROVINCE', 'string', 'Province'],
  ['ADDRESS_COUNTRY', 'string', 'Country'],
  ['ADDRESS_COUNTRY_CODE', 'string', 'Country Code'],
  ['ADDRESS_LOC_ADDR_ID', 'integer', 'Location Address ID'],
  ['CURRENCY_ID', 'crm_currency', 'Currency'],
  ['OPPORTUNITY', 'double', 'Amount'],
  ['IS_MANUAL_OPPORTUNITY', 'char', 'IS_MANUAL_OPPORTUNITY'],
  ['OPENED', 'char', 'Available to All'],
  ['COMMENTS', 'string', 'Comments'],
  ['HAS_PHONE', 'char', 'Phone Provided', 'r'],
  ['HAS_EMAIL', 'char', 'Email Provided', 'r'],
  ['HAS_IMOL', 'char', 'Open Line Assigned', 'r'],
  ['ASSIGNED_BY_ID', 'user', 'Responsible User'],
  ['CREATED_BY_ID', 'user', 'Created By', 'r'],
  ['MODIFY_BY_ID', 'user', 'Modified By', 'r'],
  ['MOVED_BY_ID', 'user', 'MOVED_BY_ID', 'r'],
  ['DATE_CREATE', 'datetime', 'Creation Date', 'r'],
  ['DATE_MODIFY', 'datetime', 'Modification Date', 'r'],
  ['MOVED_TIME', 'datetime', 'MOVED_TIME', 'r'],
  ['COMPANY_ID', 'crm_company', 'Company'],
  ['CONTACT_ID', 'crm_contact', 'Contact', 'd'],
  ['CONTACT_IDS', 'crm_contact', 'CONTACT_IDS', 'm'],
  ['IS_RETURN_CUSTOMER', 'char', 'Returning Lead', 'r'],
  ['DATE_CLOSED', 'datetime', 'Closing Date', 'r'],
  ['ORIGINATOR_ID', 'string', 'External Source'],
  ['ORIGIN_ID', 'string', 'Identifier in External Source'],
  ['UTM_SOURCE', 'string', 'Advertising System'],
  ['UTM_MEDIUM', 'string', 'Traffic Type'],
  ['UTM_CAMPAIGN', 'string', 'Campaign Identifier'],
  ['UTM_CONTENT', 'string', 'Campaign Content'],
  ['UTM_TERM', 'string', 'Campaign Search Term'],
  ['LAST_ACTIVITY_TIME', 'datetime', 'LAST_ACTIVITY_TIME', 'r'],
  ['LAST_ACTIVITY_BY', 'user', 'LAST_ACTIVITY_BY', 'r'],
  ['PHONE', 'crm_multifield', 'Phone'],
  ['EMAIL', 'crm_multifield', 'E-mail'],
  ['WEB', 'crm_multifield', 'Website'],
  ['IM', 'crm_multifield', 'Messenger'],
  ['LINK', 'crm_multifield', 'LINK'],
])

function semanticOf(ctx: CallContext, statusId: unknown): string {
  return semanticLetter(ctx.portal.statusesOf('STATUS').find((s) => s.STATUS_ID === statusId))
}

function hasMulti(record: Record<string, unknown>, type: string): 'Y' | 'N' {
  const value = record[type]
  return Array.isArray(value) && value.length > 0 ? 'Y' : 'N'
}

/** Simple mode: the new lead becomes a contact and a deal at once, when it has a first name. */
function convertInSimpleMode(lead: Record<string, unknown>, ctx: CallContext): void {
  if (ctx.portal.crmMode !== 2) return
  if (typeof lead['NAME'] !== 'string' || lead['NAME'].trim() === '') return
  const now = isoDate(ctx.env.now())
  const leadId = Number(lead['ID'])
  const contactId = ctx.portal.nextId('contact')
  const contact = contactSpec.blank(ctx, contactId, now)
  for (const key of ['NAME', 'LAST_NAME', 'SECOND_NAME', 'HONORIFIC', 'POST', 'SOURCE_ID', 'ASSIGNED_BY_ID']) {
    if (lead[key] !== undefined) contact[key] = lead[key]
  }
  for (const type of ['PHONE', 'EMAIL', 'WEB', 'IM'])
    if (Array.isArray(lead[type])) contact[type] = structuredClone(lead[type])
  contact['LEAD_ID'] = String(leadId)
  contactSpec.finalize(contact, ctx, 'add')
  ctx.portal.contacts.set(contactId, contact)

  const dealId = ctx.portal.nextId('deal')
  const deal = dealSpec.blank(ctx, dealId, now)
  for (const key of [
    'TITLE',
    'SOURCE_ID',
    'SOURCE_DESCRIPTION',
    'ASSIGNED_BY_ID',
    'CURRENCY_ID',
    'OPPORTUNITY',
    'COMMENTS',
  ]) {
    if (lead[key] !== undefined) deal[key] = lead[key]
  }
  deal['LEAD_ID'] = String(leadId)
  deal['CONTACT_ID'] = String(contactId)
  deal['CONTACT_IDS'] = [contactId]
  dealSpec.finalize(deal, ctx, 'add')
  ctx.portal.deals.set(dealId, deal)

  lead['STATUS_ID'] = 'CONVERTED'
  lead['STATUS_SEMANTIC_ID'] = 'S'
  lead['CONTACT_ID'] = String(contactId)
  lead['DATE_CLOSED'] = now
}

export const leadSpec: EntitySpec = {
  typeName: 'LEAD',
  idKind: 'lead',
  eventPrefix: 'ONCRMLEAD',
  fields: LEAD_FIELDS,
  userFields: true,
  store: (portal) => portal.leads,
  blank(ctx, id, now) {
    const user = String(ctx.userId)
    const record: Record<string, unknown> = {}
    for (const f of LEAD_FIELDS) if (f.type !== 'crm_multifield' && !f.multiple) record[f.name] = null
    Object.assign(record, {
      ID: String(id),
      IS_RETURN_CUSTOMER: 'N',
      BIRTHDATE: '',
      STATUS_ID: 'NEW',
      CURRENCY_ID: 'USD',
      OPPORTUNITY: '0.00',
      IS_MANUAL_OPPORTUNITY: 'N',
      OPENED: 'Y',
      ASSIGNED_BY_ID: user,
      CREATED_BY_ID: user,
      MODIFY_BY_ID: user,
      MOVED_BY_ID: user,
      DATE_CREATE: now,
      DATE_MODIFY: now,
      MOVED_TIME: now,
      DATE_CLOSED: '',
      LAST_ACTIVITY_BY: user,
      LAST_ACTIVITY_TIME: now,
    })
    return record
  },
  finalize(record, ctx) {
    // An empty title gets the portal's numbered default. @see api-reference/crm/leads/crm-lead-get.md
    if (typeof record['TITLE'] !== 'string' || record['TITLE'].trim() === '')
      record['TITLE'] = `Lead #${String(record['ID'])}`
    record['STATUS_SEMANTIC_ID'] = semanticOf(ctx, record['STATUS_ID'])
    record['HAS_PHONE'] = hasMulti(record, 'PHONE')
    record['HAS_EMAIL'] = hasMulti(record, 'EMAIL')
    record['HAS_IMOL'] = 'N'
    const linked = record['COMPANY_ID'] !== null || record['CONTACT_ID'] !== null
    record['IS_RETURN_CUSTOMER'] = linked ? 'Y' : 'N'
  },
  afterAdd: convertInSimpleMode,
}

const leadTable: MethodTable = entityMethods('crm.lead', leadSpec)

/** Simple mode keeps no lead list: every lead was converted, crm.lead.list answers none. */
export const leadMethods: MethodTable = {
  ...leadTable,
  'crm.lead.list': {
    scope: 'crm',
    handler: (ctx) => (ctx.portal.crmMode === 2 ? { result: [], total: 0 } : listEntities(leadSpec, ctx)),
  },
}
