/**
 * crm.lead.userfield.add, .get, .list — lead user fields over REST.
 *
 * - add needs a CRM administrator (the emulator's users are admins or not; the CRM role
 *   permission "Allow to modify settings" is not modelled): anyone else gets 400 "Access denied.".
 * - The proxy's own checks (missing FIELD_NAME, missing USER_TYPE_ID) answer 400 with an empty
 *   code, collected and joined with "\n"; the user-field core's (name too long, bad characters,
 *   unknown type, duplicate name, duplicate list XML_ID) answer 400 ERROR_CORE. Nothing is
 *   stored when any check fails.
 * - The answer is the new field's ID (a number); ONCRMLEADUSERFIELDADD goes to bound handlers.
 * - get/list are for anyone who reads leads (every emulated user does).
 * @see api-reference/crm/leads/userfield/index.md ("Permissions for Working with Fields")
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-add.md
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-get.md
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-list.md
 */
import { isPlainObject, phpValues, type PhpMap } from '../php-query.js'
import { restErrors } from '../rest-error.js'
import type { UserField, UserFieldType } from '../types/crm.js'
import {
  LABEL_KINDS,
  MAX_FIELD_NAME,
  USER_FIELD_TYPES,
  draftItems,
  fullFieldName,
  labelMap,
  userFieldSettings,
  type UserFieldDraft,
} from '../user-fields.js'
import { param, toInt, type CallContext, type MethodResult, type MethodTable } from './registry.js'

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number') return String(value)
  return undefined
}

function flag(value: unknown, fallback: 'Y' | 'N'): 'Y' | 'N' {
  if (value === 'Y' || value === true) return 'Y'
  if (value === 'N' || value === false) return 'N'
  return fallback
}

/**
 * `fields` must be a PHP array: a JSON object, nested form keys, or an empty list.
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-update.md ("Parameter 'fields' must be array")
 */
function readFields(ctx: CallContext): PhpMap {
  const fields = param(ctx.params, 'fields')
  if (isPlainObject(fields)) return fields
  if (Array.isArray(fields)) return {}
  throw restErrors.crm("Parameter 'fields' must be array.")
}

/** @see api-reference/crm/leads/userfield/crm-lead-userfield-update.md, -delete.md (body of the denial) */
function requireCrmAdmin(ctx: CallContext): void {
  const user = ctx.portal.user(ctx.userId)
  if (!user || !user.ACTIVE || !user.ADMIN) throw restErrors.crm('Access denied.')
}

function draftFrom(ctx: CallContext, fields: PhpMap): UserFieldDraft {
  const code = text(fields['FIELD_NAME'])?.trim() ?? ''
  const typeText = text(fields['USER_TYPE_ID'])?.trim() ?? ''
  const missing: string[] = []
  if (code === '') missing.push("The 'FIELD_NAME' field is not found.")
  if (typeText === '') missing.push("The 'USER_TYPE_ID' field is not found.")
  if (missing.length > 0) throw restErrors.crm(missing.join('\n'))

  const name = fullFieldName(code)
  if (name.length > MAX_FIELD_NAME)
    throw restErrors.core(`Field name is too long (more than ${MAX_FIELD_NAME} characters).`)
  if (!/^[A-Z0-9_]+$/.test(name)) {
    throw restErrors.core('Field name contains invalid characters. Allowed characters are: A-Z, 0-9 and _.')
  }
  if (!(USER_FIELD_TYPES as readonly string[]).includes(typeText))
    throw restErrors.core('Invalid custom type specified.')
  const type = typeText as UserFieldType
  // Wording of the user-field core's duplicate check, as the requisite docs print it for CRM_REQUISITE.
  // @see api-reference/crm/requisites/user-fields/crm-requisite-userfield-add.md
  if (ctx.portal.userField(name)) throw restErrors.core(`The field ${name} for the CRM_LEAD object already exists.`)

  // "Fields of type boolean cannot be multiple."
  const multiple = type !== 'boolean' && flag(fields['MULTIPLE'], 'N') === 'Y'
  const rawList = type === 'enumeration' ? (phpValues(fields['LIST']) ?? []) : []
  const items = draftItems(rawList.filter(isPlainObject), multiple)
  const seen = new Set<string>()
  for (const item of items) {
    if (item.XML_ID === undefined) continue
    if (seen.has(item.XML_ID)) throw restErrors.core(`List item with XML_ID=${item.XML_ID} already exists.`)
    seen.add(item.XML_ID)
  }

  const label = text(fields['LABEL']) ?? ''
  const sort = toInt(fields['SORT'])
  const showFilter = text(fields['SHOW_FILTER'])
  return {
    ENTITY_ID: 'CRM_LEAD',
    FIELD_NAME: name,
    USER_TYPE_ID: type,
    XML_ID: text(fields['XML_ID']) ?? null,
    // "Sort index. Must be greater than zero. By default 100."
    SORT: sort !== undefined && sort > 0 ? sort : 100,
    MULTIPLE: multiple ? 'Y' : 'N',
    MANDATORY: flag(fields['MANDATORY'], 'N'),
    SHOW_FILTER: showFilter !== undefined && ['Y', 'N', 'I', 'E', 'S'].includes(showFilter) ? showFilter : 'N',
    SHOW_IN_LIST: flag(fields['SHOW_IN_LIST'], 'N'),
    EDIT_IN_LIST: flag(fields['EDIT_IN_LIST'], 'Y'),
    IS_SEARCHABLE: flag(fields['IS_SEARCHABLE'], 'N'),
    SETTINGS: userFieldSettings(type, fields['SETTINGS']),
    LIST: items,
    EDIT_FORM_LABEL: labelMap(fields['EDIT_FORM_LABEL'], label),
    LIST_COLUMN_LABEL: labelMap(fields['LIST_COLUMN_LABEL'], label),
    LIST_FILTER_LABEL: labelMap(fields['LIST_FILTER_LABEL'], label),
    ERROR_MESSAGE: labelMap(fields['ERROR_MESSAGE'], label),
    HELP_MESSAGE: labelMap(fields['HELP_MESSAGE'], label),
  }
}

/** @see api-reference/crm/leads/userfield/crm-lead-userfield-add.md */
function add(ctx: CallContext): MethodResult {
  requireCrmAdmin(ctx)
  const field = ctx.portal.insertUserField(draftFrom(ctx, readFields(ctx)))
  // @see api-reference/crm/leads/userfield/events/on-crm-lead-user-field-add.md
  ctx.env.emitEvent(
    ctx.portal,
    'ONCRMLEADUSERFIELDADD',
    { FIELDS: { ID: String(field.ID), ENTITY_ID: field.ENTITY_ID, FIELD_NAME: field.FIELD_NAME } },
    ctx.userId,
  )
  return { result: field.ID }
}

/** The record as get/list print it: numbers as strings; labels as maps, or one language's text (null when empty). */
function printField(uf: UserField, lang: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ID: String(uf.ID),
    ENTITY_ID: uf.ENTITY_ID,
    FIELD_NAME: uf.FIELD_NAME,
    USER_TYPE_ID: uf.USER_TYPE_ID,
    XML_ID: uf.XML_ID,
    SORT: String(uf.SORT),
    MULTIPLE: uf.MULTIPLE,
    MANDATORY: uf.MANDATORY,
    SHOW_FILTER: uf.SHOW_FILTER,
    SHOW_IN_LIST: uf.SHOW_IN_LIST,
    EDIT_IN_LIST: uf.EDIT_IN_LIST,
    IS_SEARCHABLE: uf.IS_SEARCHABLE,
    SETTINGS: structuredClone(uf.SETTINGS),
  }
  if (lang === undefined) {
    for (const kind of LABEL_KINDS) out[kind] = { ...uf[kind] }
  } else if (lang !== '') {
    for (const kind of LABEL_KINDS) out[kind] = uf[kind][lang] || null
  }
  if (uf.USER_TYPE_ID === 'enumeration') out['LIST'] = uf.LIST.map((item) => ({ ...item }))
  return out
}

/**
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-get.md: 400 "ID is not defined or
 *      invalid." for id <= 0 or none; ERROR_NOT_FOUND "The entity with ID 'id' is not found."
 */
function get(ctx: CallContext): MethodResult {
  const id = toInt(param(ctx.params, 'id'))
  if (id === undefined || id <= 0) throw restErrors.crm('ID is not defined or invalid.')
  const uf = ctx.portal.userFields.find((f) => f.ID === id)
  if (!uf) throw restErrors.notFound(`The entity with ID '${id}' is not found.`)
  return { result: printField(uf, undefined) }
}

const FILTERABLE = [
  'ID',
  'FIELD_NAME',
  'USER_TYPE_ID',
  'XML_ID',
  'SORT',
  'MULTIPLE',
  'MANDATORY',
  'SHOW_FILTER',
  'SHOW_IN_LIST',
  'EDIT_IN_LIST',
  'IS_SEARCHABLE',
] as const
const SORTABLE = ['ID', 'FIELD_NAME', 'USER_TYPE_ID', 'XML_ID', 'SORT'] as const

/**
 * Exact-match filter on the documented keys (others ignored), `LANG` turning the labels into one
 * language's text (without it the list leaves them out); order by ID, FIELD_NAME, USER_TYPE_ID,
 * XML_ID, SORT, default SORT then ID ascending. All fields in one answer, with `total`.
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-list.md
 */
function list(ctx: CallContext): MethodResult {
  const filterParam = param(ctx.params, 'filter')
  const orderParam = param(ctx.params, 'order')
  if (filterParam !== undefined && !isPlainObject(filterParam) && !Array.isArray(filterParam)) {
    throw restErrors.crm("Parameter 'filter' must be array.")
  }
  if (orderParam !== undefined && !isPlainObject(orderParam) && !Array.isArray(orderParam)) {
    throw restErrors.crm("Parameter 'order' must be array.")
  }
  const filter = isPlainObject(filterParam) ? filterParam : {}
  const lang = text(filter['LANG'])?.toLowerCase() ?? ''
  const rows = ctx.portal.userFields.filter((uf) =>
    FILTERABLE.every((key) => {
      if (!Object.hasOwn(filter, key)) return true
      const want = text(filter[key])
      const have = uf[key]
      return want !== undefined && have !== null && String(have).toUpperCase() === want.toUpperCase()
    }),
  )
  const order = isPlainObject(orderParam) ? Object.entries(orderParam) : []
  const keys: Array<[string, number]> = order
    .filter(([field]) => (SORTABLE as readonly string[]).includes(field.toUpperCase()))
    .map(([field, dir]) => [field.toUpperCase(), String(dir).toUpperCase() === 'DESC' ? -1 : 1])
  const by =
    keys.length > 0
      ? keys
      : ([
          ['SORT', 1],
          ['ID', 1],
        ] as Array<[string, number]>)
  const value = (uf: UserField, key: string): string | number => {
    const v = uf[key as (typeof SORTABLE)[number]]
    return typeof v === 'number' ? v : (v ?? '')
  }
  rows.sort((a, b) => {
    for (const [key, dir] of by) {
      const va = value(a, key)
      const vb = value(b, key)
      if (va !== vb) return (va < vb ? -1 : 1) * dir
    }
    return a.ID - b.ID
  })
  return { result: rows.map((uf) => printField(uf, lang)), total: rows.length }
}

export const leadUserFieldMethods: MethodTable = {
  'crm.lead.userfield.add': { scope: 'crm', handler: add },
  'crm.lead.userfield.get': { scope: 'crm', handler: get },
  'crm.lead.userfield.list': { scope: 'crm', handler: list },
}
