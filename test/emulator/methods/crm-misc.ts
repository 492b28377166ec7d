/**
 * crm.status.list, crm.dealcategory.stage.list, crm.settings.mode.get, crm.duplicate.findbycomm.
 */
import { isPlainObject, phpValues } from '../php-query.js'
import { restErrors } from '../rest-error.js'
import { matchesFilter } from './crm-filter.js'
import { param, toInt, type CallContext, type MethodResult, type MethodTable } from './registry.js'

/**
 * Directory entries filtered by e.g. ENTITY_ID=SOURCE, sorted by SORT unless `order` says else.
 * @see api-reference/crm/status/crm-status-list.md
 */
function statusList(ctx: CallContext): MethodResult {
  const filter = param(ctx.params, 'filter')
  const rows = ctx.portal.statuses.filter((s) => matchesFilter({ ...s }, isPlainObject(filter) ? filter : {}))
  const order = param(ctx.params, 'order')
  const orderEntries = isPlainObject(order) ? Object.entries(order) : []
  const [field, dir] = orderEntries[0] ?? ['SORT', 'ASC']
  const sign = String(dir).toUpperCase() === 'DESC' ? -1 : 1
  const key = (row: Record<string, unknown>): string | number => {
    const v = row[field]
    return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : String(v ?? '')
  }
  rows.sort((a, b) => {
    const ka = key({ ...a })
    const kb = key({ ...b })
    return (ka < kb ? -1 : ka > kb ? 1 : 0) * sign
  })
  return { result: structuredClone(rows), total: rows.length }
}

/**
 * The stages of a deal pipeline: id 0 or none is the default pipeline (DEAL_STAGE, like
 * crm.status.list with that ENTITY_ID); the emulator has no other pipeline, so any id > 0
 * "returns nothing" (an empty list).
 * @see api-reference/crm/outdated/category-old/crm-deal-category-stage-list.md
 */
function dealCategoryStages(ctx: CallContext): MethodResult {
  const id = toInt(param(ctx.params, 'id')) ?? 0
  if (id > 0) return { result: [] }
  const stages = ctx.portal.statusesOf('DEAL_STAGE').sort((a, b) => Number(a.SORT) - Number(b.SORT))
  return { result: structuredClone(stages) }
}

/** 1 classic (leads), 2 simple (no leads). @see api-reference/crm/crm-settings-mode-get.md */
function settingsMode(ctx: CallContext): MethodResult {
  return { result: ctx.portal.crmMode }
}

const COMM_TYPES = ['PHONE', 'EMAIL'] as const
const ENTITY_TYPES = ['LEAD', 'CONTACT', 'COMPANY'] as const
const MAX_VALUES = 20

/** The duplicate index compares phones by digits (the number as a whole) and emails case-insensitively. */
function normalizeComm(type: string, value: string): string {
  if (type === 'PHONE') return value.replace(/(ext\.?|#|доб\.?).*$/i, '').replace(/\D/g, '')
  return value.trim().toLowerCase()
}

/**
 * Answers `{LEAD: [ids], CONTACT: [ids]}` with only the types that matched, or `[]` when
 * nothing did. When one type reaches 20 matches the later types are not searched.
 * @see api-reference/crm/duplicates/crm-duplicate-find-by-comm.md
 * @see tutorials/crm/how-to-get-lists/search-by-phone-and-email.md ("result as an empty array")
 */
function findByComm(ctx: CallContext): MethodResult {
  const type = String(param(ctx.params, 'type') ?? '').toUpperCase()
  if (type === '') throw restErrors.crm('Communication type is not defined.')
  if (!(COMM_TYPES as readonly string[]).includes(type)) {
    throw restErrors.crm(`Communication type '${type}' is not supported in current context.`)
  }
  const values = phpValues(param(ctx.params, 'values'))
  if (!values || values.length === 0) throw restErrors.crm('Communication values is not defined.')
  // The docs give the limit (20) but not the error text: this wording is the emulator's.
  if (values.length > MAX_VALUES) throw restErrors.crm(`Too many communication values. The maximum is ${MAX_VALUES}.`)
  const wanted = new Set(values.map((v) => normalizeComm(type, String(v))).filter((v) => v !== ''))
  const entityParam = param(ctx.params, 'entity_type')
  const entityTypes =
    typeof entityParam === 'string' && entityParam !== '' ? [entityParam.toUpperCase()] : [...ENTITY_TYPES]
  const stores: Record<string, Map<number, Record<string, unknown>>> = {
    LEAD: ctx.portal.leads,
    CONTACT: ctx.portal.contacts,
    COMPANY: new Map(),
  }
  const result: Record<string, number[]> = {}
  for (const entityType of entityTypes) {
    const store = stores[entityType]
    if (!store) continue
    const ids: number[] = []
    for (const [id, record] of store) {
      const comms = record[type]
      if (!Array.isArray(comms)) continue
      const hit = comms.some((c) => isPlainObject(c) && wanted.has(normalizeComm(type, String(c['VALUE'] ?? ''))))
      if (hit) ids.push(id)
    }
    if (ids.length > 0) result[entityType] = ids
    if (ids.length >= MAX_VALUES) break
  }
  return { result: Object.keys(result).length > 0 ? result : [] }
}

export const crmMiscMethods: MethodTable = {
  'crm.status.list': { scope: 'crm', handler: statusList },
  'crm.dealcategory.stage.list': { scope: 'crm', handler: dealCategoryStages },
  'crm.settings.mode.get': { scope: 'crm', handler: settingsMode },
  'crm.duplicate.findbycomm': { scope: 'crm', handler: findByComm },
}
