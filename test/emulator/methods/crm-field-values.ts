/**
 * How the `fields` of crm.*.add and crm.*.update are read, checked and stored.
 *
 * Faithfulness rules (what Bitrix24 rejects, we reject; what it ignores, we ignore):
 * - Unknown fields, read-only fields and unknown UF_* fields are ignored: nothing is stored.
 * - Multifields (PHONE, EMAIL, WEB, IM) must be a list of {VALUE, VALUE_TYPE}; anything else,
 *   e.g. a plain string, is ignored. Entries without a VALUE are skipped.
 * - crm_status fields must hold a known status of their directory; `user` fields an existing
 *   active user; enumeration user fields an existing item id; mandatory user fields a value.
 *   Such errors answer HTTP 400 with an empty `error` code.
 *
 * @see api-reference/crm/leads/crm-lead-add.md, crm-lead-update.md
 * @see api-reference/crm/data-types.md#crm_multifield
 * @see tutorials/crm/how-to-add-crm-objects/how-to-add-lead.md ("a typo in fields does not
 *      raise an error, and the value is not saved")
 */
import { isPlainObject, phpEntries, phpValues, type PhpMap } from '../php-query.js'
import { restErrors } from '../rest-error.js'
import type { UserField } from '../types/crm.js'
import { labelIn } from '../user-fields.js'
import type { EntitySpec } from './crm-entity-spec.js'
import { toInt, type CallContext } from './registry.js'

interface MultiEntry {
  id: number | undefined
  value: string
  valueType: string
}

export interface Prepared {
  values: Record<string, unknown>
  multi: Map<string, MultiEntry[]>
  errors: string[]
}

export function scalarString(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  if (typeof value === 'boolean') return value ? '1' : ''
  return undefined
}

function isEmptyValue(value: unknown): boolean {
  return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)
}

function invalidValue(title: string): string {
  // Wording of the docs' CRM_FIELD_ERROR_VALUE_NOT_VALID text; the old crm.lead.* API
  // answers such errors with an empty code. @see api-reference/crm/universal/crm-item-add.md
  return `Invalid value for field "${title}"`
}

function requiredField(title: string): string {
  return `The "${title}" field is required`
}

/** The label errors name a user field by: the edit-form label in the portal's language. */
function ufLabel(uf: UserField, lang: string): string {
  return labelIn(uf, 'EDIT_FORM_LABEL', lang) || uf.FIELD_NAME
}

function normalizeUserField(uf: UserField, raw: unknown, errors: string[], lang: string): unknown {
  const label = ufLabel(uf, lang)
  const listed = phpValues(raw)
  const items = uf.MULTIPLE === 'Y' ? (listed ?? (isEmptyValue(raw) ? [] : [raw])) : [listed ? listed[0] : raw]
  const out: unknown[] = []
  for (const item of items) {
    if (item === undefined || item === null || item === '') continue
    switch (uf.USER_TYPE_ID) {
      case 'enumeration': {
        const text = scalarString(item)
        const found = text === undefined ? undefined : uf.LIST.find((entry) => entry.ID === text.trim())
        if (!found) {
          errors.push(invalidValue(label))
          continue
        }
        out.push(found.ID)
        break
      }
      case 'integer': {
        // PHP intval: leading digits, else 0.
        const text = scalarString(item) ?? ''
        const parsed = Number.parseInt(text, 10)
        out.push(Number.isNaN(parsed) ? 0 : parsed)
        break
      }
      case 'double': {
        const parsed = Number.parseFloat(scalarString(item) ?? '')
        out.push(Number.isNaN(parsed) ? 0 : parsed)
        break
      }
      case 'boolean': {
        const text = (scalarString(item) ?? '').toUpperCase()
        out.push(item === true || ['1', 'Y', 'TRUE'].includes(text))
        break
      }
      case 'file':
        // Files need an upload structure and Drive storage: not emulated, nothing is stored.
        break
      default: {
        // string, date, datetime, money, url, address, employee, crm_status, crm, iblock_*: kept as text.
        const text = scalarString(item)
        if (text !== undefined) out.push(text)
        break
      }
    }
  }
  if (uf.MULTIPLE === 'Y') return out
  return out.length > 0 ? out[0] : null
}

function readMultifield(raw: unknown): MultiEntry[] | undefined {
  const entries = phpEntries(raw)
  if (!entries) return undefined // e.g. PHONE sent as a plain string: ignored
  const out: MultiEntry[] = []
  for (const [, entry] of entries) {
    if (!isPlainObject(entry)) continue
    const value = scalarString(entry['VALUE'])
    const valueType = scalarString(entry['VALUE_TYPE'])
    out.push({ id: toInt(entry['ID']), value: value?.trim() ?? '', valueType: valueType || 'WORK' })
  }
  return out
}

export function prepareFields(spec: EntitySpec, ctx: CallContext, fields: PhpMap): Prepared {
  const prepared: Prepared = { values: {}, multi: new Map(), errors: [] }
  for (const [key, raw] of Object.entries(fields)) {
    if (key.startsWith('UF_')) {
      const uf = spec.userFields ? ctx.portal.userField(key) : undefined
      if (uf) prepared.values[key] = normalizeUserField(uf, raw, prepared.errors, ctx.portal.lang)
      continue
    }
    const def = spec.fields.find((f) => f.name === key)
    if (!def || def.readOnly) continue
    switch (def.type) {
      case 'crm_multifield': {
        const entries = readMultifield(raw)
        if (entries) prepared.multi.set(key, entries)
        break
      }
      case 'crm_status': {
        const text = scalarString(raw)
        if (text === undefined || text === '') break
        const known = ctx.portal.statusesOf(def.statusType ?? '').some((s) => s.STATUS_ID === text)
        if (!known) prepared.errors.push(invalidValue(def.title))
        else prepared.values[key] = text
        break
      }
      case 'user': {
        const id = toInt(raw)
        if (id === undefined || id === 0) break
        const user = ctx.portal.user(id)
        if (!user || !user.ACTIVE) prepared.errors.push(invalidValue(def.title))
        else prepared.values[key] = String(id)
        break
      }
      case 'char': {
        const text = (scalarString(raw) ?? '').toUpperCase()
        if (raw === true || text === 'Y') prepared.values[key] = 'Y'
        else if (raw === false || text === 'N') prepared.values[key] = 'N'
        break
      }
      case 'double': {
        const parsed = Number.parseFloat(scalarString(raw) ?? '')
        if (!Number.isNaN(parsed)) prepared.values[key] = parsed.toFixed(2)
        break
      }
      case 'integer':
      case 'crm_company':
      case 'crm_contact':
      case 'crm_lead':
      case 'crm_category': {
        if (def.multiple) {
          const list = phpValues(raw)
          if (list) prepared.values[key] = list.map(toInt).filter((v): v is number => v !== undefined && v > 0)
          break
        }
        const id = toInt(raw)
        if (id !== undefined) prepared.values[key] = id === 0 ? null : String(id)
        else if (raw === null || raw === '') prepared.values[key] = null
        break
      }
      default: {
        if (raw === null) {
          prepared.values[key] = null
          break
        }
        const text = scalarString(raw)
        if (text !== undefined) prepared.values[key] = text
      }
    }
  }
  return prepared
}

export function checkMandatory(spec: EntitySpec, ctx: CallContext, prepared: Prepared, mode: 'add' | 'update'): void {
  if (!spec.userFields) return
  for (const uf of ctx.portal.userFields) {
    if (uf.MANDATORY !== 'Y') continue
    const provided = Object.hasOwn(prepared.values, uf.FIELD_NAME)
    if (mode === 'update' && !provided) continue
    if (!provided || isEmptyValue(prepared.values[uf.FIELD_NAME])) {
      prepared.errors.push(requiredField(ufLabel(uf, ctx.portal.lang)))
    }
  }
}

export function failIfErrors(prepared: Prepared): void {
  if (prepared.errors.length === 0) return
  // The old CRM API joins its field errors with <br>. @see api-reference/crm/leads/crm-lead-productrows-set.md
  throw restErrors.crm(prepared.errors.map((e) => `${e}<br>`).join(''))
}

export function applyMultifields(
  ctx: CallContext,
  record: Record<string, unknown>,
  multi: Map<string, MultiEntry[]>,
  mode: 'add' | 'update',
): void {
  for (const [type, entries] of multi) {
    const current = mode === 'update' && Array.isArray(record[type]) ? [...(record[type] as PhpMap[])] : []
    for (const entry of entries) {
      const existing = entry.id === undefined ? -1 : current.findIndex((row) => row['ID'] === String(entry.id))
      if (mode === 'update' && existing >= 0) {
        if (entry.value === '') current.splice(existing, 1)
        else current[existing] = { ...current[existing], VALUE: entry.value, VALUE_TYPE: entry.valueType }
        continue
      }
      if (entry.value === '') continue
      current.push({
        ID: String(ctx.portal.nextId('multifield')),
        VALUE_TYPE: entry.valueType,
        VALUE: entry.value,
        TYPE_ID: type,
      })
    }
    if (current.length > 0) record[type] = current
    else delete record[type]
  }
}
