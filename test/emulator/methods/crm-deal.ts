/**
 * crm.deal.* — enough of deals for the simple-mode path (a deal with a contact instead of a
 * lead). Same field rules as leads; no user fields.
 * @see api-reference/crm/deals/crm-deal-add.md
 */
import { semanticLetter } from '../state.js'
import { entityMethods } from './crm-entity.js'
import { AUDIT_ROWS, LEAD_ORIGIN_ROWS } from './crm-common-fields.js'
import { fieldTable, type EntitySpec } from './crm-entity-spec.js'
import type { MethodTable } from './registry.js'

export const DEAL_FIELDS = fieldTable([
  ['ID', 'integer', 'ID', 'r'],
  ['TITLE', 'string', 'Name'],
  ['CATEGORY_ID', 'crm_category', 'Pipeline'],
  ['STAGE_ID', 'crm_status', 'Stage', '', 'DEAL_STAGE'],
  ['STAGE_SEMANTIC_ID', 'string', 'Stage group', 'r'],
  ['IS_NEW', 'char', 'New deal', 'r'],
  ['PROBABILITY', 'integer', 'Probability'],
  ['CURRENCY_ID', 'crm_currency', 'Currency'],
  ['OPPORTUNITY', 'double', 'Amount'],
  ['IS_MANUAL_OPPORTUNITY', 'char', 'IS_MANUAL_OPPORTUNITY'],
  ['COMPANY_ID', 'crm_company', 'Company'],
  ['CONTACT_ID', 'crm_contact', 'Contact', 'd'],
  ['CONTACT_IDS', 'crm_contact', 'Contacts', 'm'],
  ['BEGINDATE', 'date', 'Start date'],
  ['CLOSEDATE', 'date', 'End date'],
  ['OPENED', 'char', 'Available to everyone'],
  ['CLOSED', 'char', 'Closed', 'r'],
  ['COMMENTS', 'string', 'Comment'],
  ...AUDIT_ROWS,
  ['SOURCE_ID', 'crm_status', 'Source', '', 'SOURCE'],
  ['SOURCE_DESCRIPTION', 'string', 'Source information'],
  ...LEAD_ORIGIN_ROWS,
])

export const dealSpec: EntitySpec = {
  typeName: 'DEAL',
  idKind: 'deal',
  eventPrefix: 'ONCRMDEAL',
  fields: DEAL_FIELDS,
  userFields: false,
  store: (portal) => portal.deals,
  blank(ctx, id, now) {
    const user = String(ctx.userId)
    const record: Record<string, unknown> = {}
    for (const f of DEAL_FIELDS) if (!f.multiple) record[f.name] = null
    Object.assign(record, {
      ID: String(id),
      CATEGORY_ID: '0',
      STAGE_ID: 'NEW',
      IS_NEW: 'Y',
      CURRENCY_ID: 'USD',
      OPPORTUNITY: '0.00',
      IS_MANUAL_OPPORTUNITY: 'N',
      OPENED: 'Y',
      CLOSED: 'N',
      ASSIGNED_BY_ID: user,
      CREATED_BY_ID: user,
      MODIFY_BY_ID: user,
      DATE_CREATE: now,
      DATE_MODIFY: now,
      BEGINDATE: now,
      CLOSEDATE: now,
    })
    return record
  },
  finalize(record, ctx) {
    if (typeof record['TITLE'] !== 'string' || record['TITLE'].trim() === '')
      record['TITLE'] = `Deal #${String(record['ID'])}`
    const stage = ctx.portal.statusesOf('DEAL_STAGE').find((s) => s.STATUS_ID === record['STAGE_ID'])
    const letter = semanticLetter(stage)
    record['STAGE_SEMANTIC_ID'] = letter
    record['CLOSED'] = letter === 'P' ? 'N' : 'Y'
    const contacts = record['CONTACT_IDS']
    if (record['CONTACT_ID'] === null && Array.isArray(contacts) && contacts.length > 0)
      record['CONTACT_ID'] = String(contacts[0])
  },
}

export const dealMethods: MethodTable = entityMethods('crm.deal', dealSpec)
