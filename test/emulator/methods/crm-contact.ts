/**
 * crm.contact.* — enough of contacts for the simple-mode path. Same field rules as leads.
 * @see api-reference/crm/contacts/crm-contact-add.md
 */
import { entityMethods } from './crm-entity.js'
import { AUDIT_ROWS, LEAD_ORIGIN_ROWS } from './crm-common-fields.js'
import { fieldTable, type EntitySpec } from './crm-entity-spec.js'
import type { MethodTable } from './registry.js'

export const CONTACT_FIELDS = fieldTable([
  ['ID', 'integer', 'ID', 'r'],
  ['HONORIFIC', 'crm_status', 'Salutation', '', 'HONORIFIC'],
  ['NAME', 'string', 'First name'],
  ['SECOND_NAME', 'string', 'Second name'],
  ['LAST_NAME', 'string', 'Last name'],
  ['BIRTHDATE', 'date', 'Date of birth'],
  ['TYPE_ID', 'crm_status', 'Contact type', '', 'CONTACT_TYPE'],
  ['SOURCE_ID', 'crm_status', 'Source', '', 'SOURCE'],
  ['SOURCE_DESCRIPTION', 'string', 'Source information'],
  ['POST', 'string', 'Position'],
  ['COMMENTS', 'string', 'Comment'],
  ['OPENED', 'char', 'Available to everyone'],
  ['EXPORT', 'char', 'Export'],
  ['HAS_PHONE', 'char', 'Has phone', 'r'],
  ['HAS_EMAIL', 'char', 'Has email', 'r'],
  ...AUDIT_ROWS,
  ['COMPANY_ID', 'crm_company', 'Company', 'd'],
  ...LEAD_ORIGIN_ROWS,
  ['PHONE', 'crm_multifield', 'Phone'],
  ['EMAIL', 'crm_multifield', 'E-mail'],
  ['WEB', 'crm_multifield', 'Website'],
  ['IM', 'crm_multifield', 'Messenger'],
])

export const contactSpec: EntitySpec = {
  typeName: 'CONTACT',
  idKind: 'contact',
  eventPrefix: 'ONCRMCONTACT',
  fields: CONTACT_FIELDS,
  userFields: false,
  store: (portal) => portal.contacts,
  blank(ctx, id, now) {
    const user = String(ctx.userId)
    const record: Record<string, unknown> = {}
    for (const f of CONTACT_FIELDS) if (f.type !== 'crm_multifield' && !f.multiple) record[f.name] = null
    Object.assign(record, {
      ID: String(id),
      TYPE_ID: 'CLIENT',
      OPENED: 'Y',
      EXPORT: 'Y',
      BIRTHDATE: '',
      ASSIGNED_BY_ID: user,
      CREATED_BY_ID: user,
      MODIFY_BY_ID: user,
      DATE_CREATE: now,
      DATE_MODIFY: now,
    })
    return record
  },
  finalize(record) {
    for (const [type, flag] of [
      ['PHONE', 'HAS_PHONE'],
      ['EMAIL', 'HAS_EMAIL'],
    ] as const) {
      const value = record[type]
      record[flag] = Array.isArray(value) && value.length > 0 ? 'Y' : 'N'
    }
  },
}

export const contactMethods: MethodTable = entityMethods('crm.contact', contactSpec)
