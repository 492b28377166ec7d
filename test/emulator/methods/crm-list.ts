/**
 * crm.*.list: filter, select, order and pages of 50.
 * @see api-reference/crm/leads/crm-lead-list.md
 */
import { isPlainObject, phpEntries, phpValues } from '../php-query.js'
import { PAGE_SIZE, type EntitySpec } from './crm-entity-spec.js'
import { scalarString } from './crm-field-values.js'
import { comparable, compareNumbers, matchesFilter } from './crm-filter.js'
import { param, toInt, type CallContext, type MethodResult } from './registry.js'

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
