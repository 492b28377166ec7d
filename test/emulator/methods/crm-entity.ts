/**
 * What crm.lead.*, crm.deal.* and crm.contact.* share: how `fields` are read, validated and
 * stored, and how `*.list` filters, selects, orders and pages.
 *
 * Faithfulness rules (what Bitrix24 rejects, we reject; what it ignores, we ignore):
 * - Unknown fields, read-only fields and unknown UF_* fields are ignored: nothing is stored.
 * - Multifields (PHONE, EMAIL, WEB, IM) must be a list of {VALUE, VALUE_TYPE}; anything else,
 *   e.g. a plain string, is ignored. Entries without a VALUE are skipped.
 * - crm_status fields must hold a known status of their directory; `user` fields an existing
 *   active user; enumeration user fields an existing item id; mandatory user fields a value.
 *   Such errors answer HTTP 400 with an empty `error` code.
 *
 * @see api-reference/crm/leads/crm-lead-add.md, crm-lead-update.md, crm-lead-list.md
 * @see api-reference/crm/data-types.md#crm_multifield
 * @see tutorials/crm/how-to-add-crm-objects/how-to-add-lead.md ("a typo in fields does not
 *      raise an error, and the value is not saved")
 */
import { isPlainObject, phpEntries, phpValues, type PhpMap } from '../php-query.js'
import { callConnector, recordOfflineEvent } from '../offline-events.js'
import { restErrors } from '../rest-error.js'
import type { IdKind, PortalState } from '../state.js'
import type { UserField } from '../types.js'
import { labelIn } from '../user-fields.js'
import { param, toInt, type CallContext, type MethodResult } from './registry.js'

export type FieldType =
  | 'integer'
  | 'string'
  | 'char'
  | 'double'
  | 'date'
  | 'datetime'
  | 'crm_status'
  | 'user'
  | 'crm_currency'
  | 'crm_company'
  | 'crm_contact'
  | 'crm_lead'
  | 'crm_category'
  | 'crm_multifield'

export interface FieldDef {
  name: string
  type: FieldType
  title: string
  readOnly?: boolean
  multiple?: boolean
  statusType?: string
  deprecated?: boolean
}

export interface EntitySpec {
  typeName: 'LEAD' | 'DEAL' | 'CONTACT'
  idKind: IdKind
  eventPrefix: string
  fields: FieldDef[]
  /** Whether the portal's user fields (addUserField) apply; the emulator keeps them on leads. */
  userFields: boolean
  store(portal: PortalState): Map<number, Record<string, unknown>>
  /** A new record before the caller's fields apply. */
  blank(ctx: CallContext, id: number, nowIso: string): Record<string, unknown>
  /** Derived values after the caller's fields apply (default title, semantics, HAS_PHONE …). */
  finalize(record: Record<string, unknown>, ctx: CallContext, mode: 'add' | 'update'): void
  /** After a successful add (e.g. simple-mode conversion of a lead). */
  afterAdd?(record: Record<string, unknown>, ctx: CallContext): void
}

export const MULTIFIELD_TYPES = ['PHONE', 'EMAIL', 'WEB', 'IM'] as const
export const PAGE_SIZE = 50

/** `2024-05-23T18:18:25+00:00`, the portal's datetime format. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00')
}

/** Compact field tables: [name, type, title, flags, statusType]; flags r=read-only m=multiple d=deprecated. */
export function fieldTable(rows: Array<[string, FieldType, string, string?, string?]>): FieldDef[] {
  return rows.map(([name, type, title, flags = '', statusType]) => ({
    name,
    type,
    title,
    ...(flags.includes('r') ? { readOnly: true } : {}),
    ...(flags.includes('m') ? { multiple: true } : {}),
    ...(flags.includes('d') ? { deprecated: true } : {}),
    ...(statusType ? { statusType } : {}),
  }))
}

interface MultiEntry {
  id: number | undefined
  value: string
  valueType: string
}

interface Prepared {
  values: Record<string, unknown>
  multi: Map<string, MultiEntry[]>
  errors: string[]
}

function scalarString(value: unknown): string | undefined {
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

function prepare(spec: EntitySpec, ctx: CallContext, fields: PhpMap): Prepared {
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

function checkMandatory(spec: EntitySpec, ctx: CallContext, prepared: Prepared, mode: 'add' | 'update'): void {
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

function failIfErrors(prepared: Prepared): void {
  if (prepared.errors.length === 0) return
  // The old CRM API joins its field errors with <br>. @see api-reference/crm/leads/crm-lead-productrows-set.md
  throw restErrors.crm(prepared.errors.map((e) => `${e}<br>`).join(''))
}

function applyMultifields(
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

function readFields(ctx: CallContext): PhpMap {
  const fields = param(ctx.params, 'fields')
  // A PHP array: a JSON object, a JSON list (only an empty one makes sense) or nested form keys.
  if (isPlainObject(fields)) return fields
  if (Array.isArray(fields)) return {}
  throw restErrors.crm("Parameter 'fields' must be array.")
}

function readId(ctx: CallContext): number {
  const id = toInt(param(ctx.params, 'id'))
  if (id === undefined || id <= 0) throw restErrors.crm('ID is not defined or invalid.')
  return id
}

export function addEntity(spec: EntitySpec, ctx: CallContext): MethodResult {
  const fields = readFields(ctx)
  const prepared = prepare(spec, ctx, fields)
  checkMandatory(spec, ctx, prepared, 'add')
  failIfErrors(prepared)
  const id = ctx.portal.nextId(spec.idKind)
  const record = spec.blank(ctx, id, isoDate(ctx.env.now()))
  if (spec.userFields) {
    for (const uf of ctx.portal.userFields) record[uf.FIELD_NAME] = uf.MULTIPLE === 'Y' ? [] : null
  }
  Object.assign(record, prepared.values)
  applyMultifields(ctx, record, prepared.multi, 'add')
  spec.finalize(record, ctx, 'add')
  spec.store(ctx.portal).set(id, record)
  spec.afterAdd?.(record, ctx)
  ctx.env.emitEvent(ctx.portal, `${spec.eventPrefix}ADD`, { FIELDS: { ID: id } }, ctx.userId)
  recordOfflineEvent(
    ctx.portal,
    ctx.env.now(),
    `${spec.eventPrefix}ADD`,
    { FIELDS: { ID: id } },
    callConnector(ctx.params),
  )
  return { result: id }
}

function getRecord(spec: EntitySpec, ctx: CallContext, id: number): Record<string, unknown> {
  const record = spec.store(ctx.portal).get(id)
  // @see api-reference/crm/leads/crm-lead-get.md "Possible Errors": Not found
  if (!record) throw restErrors.crm('Not found')
  return record
}

export function getEntity(spec: EntitySpec, ctx: CallContext): MethodResult {
  const record = getRecord(spec, ctx, readId(ctx))
  return { result: structuredClone(record) }
}

export function updateEntity(spec: EntitySpec, ctx: CallContext): MethodResult {
  const id = readId(ctx)
  const record = getRecord(spec, ctx, id)
  const prepared = prepare(spec, ctx, readFields(ctx))
  checkMandatory(spec, ctx, prepared, 'update')
  failIfErrors(prepared)
  Object.assign(record, prepared.values)
  applyMultifields(ctx, record, prepared.multi, 'update')
  record['MODIFY_BY_ID'] = String(ctx.userId)
  record['DATE_MODIFY'] = isoDate(ctx.env.now())
  spec.finalize(record, ctx, 'update')
  ctx.env.emitEvent(ctx.portal, `${spec.eventPrefix}UPDATE`, { FIELDS: { ID: id } }, ctx.userId)
  recordOfflineEvent(
    ctx.portal,
    ctx.env.now(),
    `${spec.eventPrefix}UPDATE`,
    { FIELDS: { ID: id } },
    callConnector(ctx.params),
  )
  return { result: true }
}

export function deleteEntity(spec: EntitySpec, ctx: CallContext): MethodResult {
  const id = readId(ctx)
  getRecord(spec, ctx, id)
  spec.store(ctx.portal).delete(id)
  ctx.env.emitEvent(ctx.portal, `${spec.eventPrefix}DELETE`, { FIELDS: { ID: id } }, ctx.userId)
  recordOfflineEvent(
    ctx.portal,
    ctx.env.now(),
    `${spec.eventPrefix}DELETE`,
    { FIELDS: { ID: id } },
    callConnector(ctx.params),
  )
  return { result: true }
}

// ---------------------------------------------------------------------------------------------
// *.list

const FILTER_KEY = /^(>=|<=|!@|!%=|!=%|!%|!=|=%|%=|>|<|@|%|=|!)?(.+)$/

function comparable(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') return value.trim().toLowerCase()
  if (typeof value === 'number' || typeof value === 'boolean') return String(value).toLowerCase()
  return JSON.stringify(value)
}

function fieldValues(record: Record<string, unknown>, field: string): unknown[] {
  const value = record[field]
  if ((MULTIFIELD_TYPES as readonly string[]).includes(field)) {
    return Array.isArray(value) ? value.map((row) => (isPlainObject(row) ? row['VALUE'] : undefined)) : []
  }
  return Array.isArray(value) ? value : [value]
}

function likeToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .toLowerCase()
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/%/g, '.*')
    .replace(/_/g, '.')
  return new RegExp(`^${escaped}$`)
}

function compareNumbers(a: string, b: string): number {
  const na = Number(a)
  const nb = Number(b)
  if (a !== '' && b !== '' && !Number.isNaN(na) && !Number.isNaN(nb)) return na - nb
  return a < b ? -1 : a > b ? 1 : 0
}

function matchOne(op: string, actual: unknown[], expected: unknown): boolean {
  const wanted = (phpValues(expected) ?? [expected]).map(comparable)
  const have = actual.length > 0 ? actual.map(comparable) : ['']
  const anyEq = have.some((h) => wanted.includes(h))
  switch (op) {
    case '':
    case '=':
    case '@':
      return anyEq
    case '!':
    case '!=':
    case '!@':
      return !anyEq
    case '%':
      return have.some((h) => wanted.some((w) => h.includes(w)))
    case '!%':
      return !have.some((h) => wanted.some((w) => h.includes(w)))
    case '=%':
    case '%=':
      return have.some((h) => wanted.some((w) => likeToRegExp(w).test(h)))
    case '!=%':
    case '!%=':
      return !have.some((h) => wanted.some((w) => likeToRegExp(w).test(h)))
    case '>':
      return have.some((h) => wanted.some((w) => compareNumbers(h, w) > 0))
    case '>=':
      return have.some((h) => wanted.some((w) => compareNumbers(h, w) >= 0))
    case '<':
      return have.some((h) => wanted.some((w) => compareNumbers(h, w) < 0))
    case '<=':
      return have.some((h) => wanted.some((w) => compareNumbers(h, w) <= 0))
    default:
      return true
  }
}

/**
 * Prefixes: >= > <= < @ (IN) !@ (NOT IN) % (LIKE) = != ! … An array value without a prefix
 * means IN. String comparison is case-insensitive, like the portal's database collation.
 */
export function matchesFilter(record: Record<string, unknown>, filter: PhpMap): boolean {
  for (const [rawKey, expected] of Object.entries(filter)) {
    const m = FILTER_KEY.exec(rawKey)
    if (!m) continue
    const op = m[1] ?? ''
    const field = m[2] ?? ''
    if (!matchOne(op, fieldValues(record, field), expected)) return false
  }
  return true
}

function selectFields(
  spec: EntitySpec,
  ctx: CallContext,
  select: unknown,
): (record: Record<string, unknown>) => Record<string, unknown> {
  const requested = (phpValues(select) ?? []).map((s) => scalarString(s) ?? '').filter((s) => s !== '')
  const standard = spec.fields.filter((f) => f.type !== 'crm_multifield' && !f.multiple).map((f) => f.name)
  const names = new Set<string>(['ID'])
  if (requested.length === 0 || requested.includes('*')) for (const n of standard) names.add(n)
  if (requested.includes('UF_*') && spec.userFields) {
    for (const u of ctx.portal.userFields) if (u.MULTIPLE !== 'Y') names.add(u.FIELD_NAME)
  }
  for (const name of requested) if (name !== '*' && name !== 'UF_*') names.add(name)
  return (record) => {
    const out: Record<string, unknown> = {}
    for (const name of names) {
      if (Object.hasOwn(record, name)) out[name] = structuredClone(record[name])
      else if (spec.fields.some((f) => f.name === name)) {
        // Multifields without values are left out, as crm.lead.get leaves them out.
        const def = spec.fields.find((f) => f.name === name)
        if (def && def.type !== 'crm_multifield') out[name] = null
      }
    }
    return out
  }
}

function sorter(order: unknown): (a: Record<string, unknown>, b: Record<string, unknown>) => number {
  const entries = (phpEntries(order) ?? []).filter(([, dir]) => typeof dir === 'string')
  const keys: Array<[string, number]> =
    entries.length > 0
      ? entries.map(([field, dir]) => [field, String(dir).toUpperCase() === 'DESC' ? -1 : 1])
      : [['ID', 1]]
  return (a, b) => {
    for (const [field, dir] of keys) {
      const diff = compareNumbers(comparable(a[field]), comparable(b[field]))
      if (diff !== 0) return diff * dir
    }
    return 0
  }
}

/**
 * Pages of 50: `start` is the offset, `next` the offset of the next page, `total` the count.
 * `start=-1` skips counting (no total, no next).
 * @see settings/how-to-call-rest-api/list-methods-pecularities.md
 * @see settings/performance/huge-data.md
 */
export function listEntities(spec: EntitySpec, ctx: CallContext): MethodResult {
  const filterParam = param(ctx.params, 'filter')
  const filter = isPlainObject(filterParam) ? filterParam : {}
  const project = selectFields(spec, ctx, param(ctx.params, 'select'))
  const rows = [...spec.store(ctx.portal).values()]
    .filter((r) => matchesFilter(r, filter))
    .sort(sorter(param(ctx.params, 'order')))
  const start = toInt(param(ctx.params, 'start')) ?? 0
  if (start === -1) return { result: rows.slice(0, PAGE_SIZE).map(project) }
  const offset = Math.max(0, start)
  const page = rows.slice(offset, offset + PAGE_SIZE).map(project)
  const hasNext = offset + PAGE_SIZE < rows.length
  return { result: page, total: rows.length, ...(hasNext ? { next: offset + PAGE_SIZE } : {}) }
}

// ---------------------------------------------------------------------------------------------
// *.fields

/**
 * @see api-reference/crm/leads/crm-lead-fields.md (standard fields, statusType)
 * @see api-reference/crm/companies/crm-company-fields.md (user fields: listLabel, formLabel)
 * @see api-reference/crm/leads/crm-lead-fields.md (a user field's title is its name; listLabel,
 *      formLabel, filterLabel are LIST_COLUMN_LABEL, EDIT_FORM_LABEL, LIST_FILTER_LABEL)
 */
export function describeFields(spec: EntitySpec, ctx: CallContext): MethodResult {
  const result: Record<string, unknown> = {}
  for (const f of spec.fields) {
    result[f.name] = {
      type: f.type,
      isRequired: false,
      isReadOnly: f.readOnly === true,
      isImmutable: false,
      isMultiple: f.multiple === true || f.type === 'crm_multifield',
      isDynamic: false,
      ...(f.deprecated ? { isDeprecated: true } : {}),
      ...(f.statusType ? { statusType: f.statusType } : {}),
      title: f.title,
    }
  }
  if (spec.userFields) {
    for (const uf of ctx.portal.userFields) {
      result[uf.FIELD_NAME] = {
        type: uf.USER_TYPE_ID,
        isRequired: uf.MANDATORY === 'Y',
        isReadOnly: false,
        isImmutable: false,
        isMultiple: uf.MULTIPLE === 'Y',
        isDynamic: true,
        ...(uf.USER_TYPE_ID === 'enumeration' ? { items: uf.LIST.map((i) => ({ ID: i.ID, VALUE: i.VALUE })) } : {}),
        title: uf.FIELD_NAME,
        listLabel: labelIn(uf, 'LIST_COLUMN_LABEL', ctx.portal.lang),
        formLabel: labelIn(uf, 'EDIT_FORM_LABEL', ctx.portal.lang),
        filterLabel: labelIn(uf, 'LIST_FILTER_LABEL', ctx.portal.lang),
        settings: structuredClone(uf.SETTINGS),
      }
    }
  }
  return { result }
}

/** The four methods every entity answers, keyed by suffix. */
export function entityMethods(prefix: string, spec: EntitySpec) {
  return {
    [`${prefix}.add`]: { scope: 'crm', handler: (ctx: CallContext) => addEntity(spec, ctx) },
    [`${prefix}.get`]: { scope: 'crm', handler: (ctx: CallContext) => getEntity(spec, ctx) },
    [`${prefix}.update`]: { scope: 'crm', handler: (ctx: CallContext) => updateEntity(spec, ctx) },
    [`${prefix}.delete`]: { scope: 'crm', handler: (ctx: CallContext) => deleteEntity(spec, ctx) },
    [`${prefix}.list`]: { scope: 'crm', handler: (ctx: CallContext) => listEntities(spec, ctx) },
    [`${prefix}.fields`]: { scope: 'crm', handler: (ctx: CallContext) => describeFields(spec, ctx) },
  }
}
