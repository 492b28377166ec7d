/**
 * crm.item.add / crm.item.list / crm.item.fields for deals (entityTypeId 2) and contacts (3):
 * the universal API's camelCase names over the same records and field rules as crm.deal.* and
 * crm.contact.* (title ↔ TITLE, contactIds ↔ CONTACT_IDS, originatorId ↔ ORIGINATOR_ID,
 * utmSource ↔ UTM_SOURCE …). A contact's phones and e-mails are the `fm` list of
 * `{typeId, valueType, value}`. crm.item.add answers `{item}`, crm.item.list `{items}` with
 * `total`/`next`, crm.item.fields `{fields}`. Filters take the documented prefixes, e.g.
 * `@originId` for IN.
 * @see api-reference/crm/universal/crm-item-add.md
 * @see api-reference/crm/universal/crm-item-list.md
 * @see api-reference/crm/universal/crm-item-fields.md
 */
import { isPlainObject, phpValues, type PhpMap } from '../php-query.js'
import { restErrors } from '../rest-error.js'
import { contactSpec } from './crm-contact.js'
import { dealSpec } from './crm-deal.js'
import { addEntity, describeFields } from './crm-entity.js'
import { MULTIFIELD_TYPES, type EntitySpec } from './crm-entity-spec.js'
import { listEntities } from './crm-list.js'
import { param, toInt, type CallContext, type MethodResult, type MethodTable } from './registry.js'

const SPECS: Record<number, EntitySpec> = { 2: dealSpec, 3: contactSpec }

/** UPPER_SNAKE → camelCase (CONTACT_IDS → contactIds, ID → id). */
export function camelOf(name: string): string {
  return name.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

/** camelCase → UPPER_SNAKE (utmSource → UTM_SOURCE). */
export function upperOf(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
}

function specOf(ctx: CallContext): EntitySpec {
  const typeId = toInt(param(ctx.params, 'entityTypeId'))
  const spec = typeId === undefined ? undefined : SPECS[typeId]
  // Lead (1) and other types are not emulated here; the wording follows the universal API.
  if (!spec) throw restErrors.crm('Invalid entityTypeId')
  return spec
}

/** The item's camelCase fields as the old API's names; `fm` becomes PHONE/EMAIL/WEB/IM. */
function toUpperFields(fields: PhpMap): PhpMap {
  const out: PhpMap = {}
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'fm') {
      for (const entry of phpValues(value) ?? []) {
        if (!isPlainObject(entry)) continue
        const type = String(entry['typeId'] ?? '').toUpperCase()
        if (!(MULTIFIELD_TYPES as readonly string[]).includes(type)) continue
        const list = (out[type] as PhpMap[] | undefined) ?? []
        list.push({ VALUE: entry['value'], VALUE_TYPE: entry['valueType'] })
        out[type] = list
      }
      continue
    }
    out[key.startsWith('UF_') ? key : upperOf(key)] = value
  }
  return out
}

function toItem(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const fm: Array<Record<string, unknown>> = []
  for (const [key, value] of Object.entries(record)) {
    if ((MULTIFIELD_TYPES as readonly string[]).includes(key)) {
      for (const row of Array.isArray(value) ? (value as PhpMap[]) : []) {
        fm.push({ id: Number(row['ID']), typeId: key, valueType: row['VALUE_TYPE'], value: row['VALUE'] })
      }
      continue
    }
    // Ids are integers in the universal API.
    out[camelOf(key)] = key === 'ID' ? Number(value) : value
  }
  if (Object.hasOwn(out, 'hasPhone') || fm.length > 0) out['fm'] = fm
  return out
}

function filterToUpper(filter: unknown): PhpMap {
  if (!isPlainObject(filter)) return {}
  const out: PhpMap = {}
  for (const [key, value] of Object.entries(filter)) {
    const match = /^([^A-Za-z]*)(.+)$/.exec(key)
    const [, prefix = '', name = key] = match ?? []
    out[prefix + upperOf(name)] = value
  }
  return out
}

function itemAdd(ctx: CallContext): MethodResult {
  const spec = specOf(ctx)
  const fields = param(ctx.params, 'fields')
  if (!isPlainObject(fields)) throw restErrors.crm("Parameter 'fields' must be array.")
  const added = addEntity(spec, { ...ctx, params: { fields: toUpperFields(fields) } })
  const record = spec.store(ctx.portal).get(Number(added.result))
  return { result: { item: toItem(record ?? {}) } }
}

function itemList(ctx: CallContext): MethodResult {
  const spec = specOf(ctx)
  const select = (phpValues(param(ctx.params, 'select')) ?? []).map(String)
  const order = param(ctx.params, 'order')
  const params: PhpMap = {
    filter: filterToUpper(param(ctx.params, 'filter')),
    select: ['ID'],
    ...(isPlainObject(order)
      ? { order: Object.fromEntries(Object.entries(order).map(([k, v]) => [upperOf(k), v])) }
      : {}),
    ...(param(ctx.params, 'start') !== undefined ? { start: param(ctx.params, 'start') } : {}),
  }
  const listed = listEntities(spec, { ...ctx, params })
  const all = select.length === 0 || select.includes('*')
  const items = (listed.result as Array<Record<string, unknown>>).map((row) => {
    const item = toItem(structuredClone(spec.store(ctx.portal).get(Number(row['ID'])) ?? {}))
    if (all) return item
    return Object.fromEntries(Object.entries(item).filter(([k]) => k === 'id' || select.includes(k)))
  })
  return { ...listed, result: { items } }
}

function itemFields(ctx: CallContext): MethodResult {
  const spec = specOf(ctx)
  const described = describeFields(spec, ctx).result as Record<string, Record<string, unknown>>
  const fields: Record<string, unknown> = {}
  for (const [name, def] of Object.entries(described)) {
    if ((MULTIFIELD_TYPES as readonly string[]).includes(name)) continue
    fields[camelOf(name)] = { ...def, upperName: name }
  }
  if (spec.typeName === 'CONTACT') {
    fields['fm'] = {
      type: 'crm_multifield',
      isRequired: false,
      isReadOnly: false,
      isImmutable: false,
      isMultiple: true,
      isDynamic: false,
      title: 'Multifields',
      upperName: 'FM',
    }
  }
  return { result: { fields } }
}

export const crmItemMethods: MethodTable = {
  'crm.item.add': { scope: 'crm', handler: itemAdd },
  'crm.item.list': { scope: 'crm', handler: itemList },
  'crm.item.fields': { scope: 'crm', handler: itemFields },
}
