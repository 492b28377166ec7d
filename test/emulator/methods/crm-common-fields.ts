/**
 * Field rows crm.contact.fields and crm.deal.fields print alike (same names, types and titles):
 * who made and changed the record, and where it came from (lead, external source, UTM).
 * @see api-reference/crm/contacts/crm-contact-fields.md, api-reference/crm/deals/crm-deal-fields.md
 */
import type { FieldRow } from './crm-entity-spec.js'

export const AUDIT_ROWS: FieldRow[] = [
  ['ASSIGNED_BY_ID', 'user', 'Responsible person'],
  ['CREATED_BY_ID', 'user', 'Created by', 'r'],
  ['MODIFY_BY_ID', 'user', 'Modified by', 'r'],
  ['DATE_CREATE', 'datetime', 'Created on', 'r'],
  ['DATE_MODIFY', 'datetime', 'Modified on', 'r'],
]

export const LEAD_ORIGIN_ROWS: FieldRow[] = [
  ['LEAD_ID', 'crm_lead', 'Lead'],
  ['ORIGINATOR_ID', 'string', 'External source'],
  ['ORIGIN_ID', 'string', 'Item ID in data source'],
  ['UTM_SOURCE', 'string', 'Ad system'],
  ['UTM_MEDIUM', 'string', 'Medium'],
  ['UTM_CAMPAIGN', 'string', 'Ad campaign UTM'],
  ['UTM_CONTENT', 'string', 'Campaign contents'],
  ['UTM_TERM', 'string', 'Campaign search term'],
]
