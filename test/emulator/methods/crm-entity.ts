/**
 * What crm.lead.*, crm.deal.* and crm.contact.* share: add, get, update, delete, list and fields
 * over an entity's spec (crm-entity-spec.ts). How `fields` are read and checked is in
 * crm-field-values.ts, how lists filter and page in crm-filter.ts and crm-list.ts.
 *
 * @see api-reference/crm/leads/crm-lead-add.md, crm-lead-update.md, crm-lead-list.md
 */
import { isPlainObject, type PhpMap } from '../php-query.js'
import { callConnector, recordOfflineEvent } from '../offline-queue.js'
import { restErrors } from '../rest-error.js'
import { labelIn } from '../user-fields.js'
import { isoDate, type EntitySpec } from './crm-entity-spec.js'
import { applyMultifields, checkMandatory, failIfErrors, prepareFields } from './crm-field-values.js'
import { listEntities } from './crm-list.js'
import { param, toInt, type CallContext, type MethodResult } from './registry.js'

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
  const prepared = prepareFields(spec, ctx, fields)
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
  const prepared = prepareFields(spec, ctx, readFields(ctx))
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
