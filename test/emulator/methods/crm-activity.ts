/**
 * To-dos in a CRM record's timeline (universal activities, PROVIDER_ID CRM_TODO), and calls a
 * person logs there (crm-moves.ts logCall): crm.activity.todo.add, and the activity-base methods the app reads them with
 * (crm.activity.get, crm.activity.list) and completes them with (crm.activity.update
 * COMPLETED=Y: crm.activity.todo.update cannot complete one, and refuses a completed one).
 *
 * crm.activity.todo.add, what the emulator checks:
 * - ownerTypeId, ownerId, deadline are required: code `100`.
 * - ownerTypeId other than 1 lead, 2 deal, 3 contact (the types the emulator stores):
 *   OWNER_NOT_FOUND; an owner record that does not exist: NOT_FOUND (the docs' example error).
 * - deadline is ISO 8601 (`2025-02-03T15:00:00`, with or without an offset; without one it is
 *   read in the portal's time zone, UTC here); anything else WRONG_DATETIME_FORMAT.
 * - responsibleId defaults to the calling user and must be an active user of the portal (the
 *   docs do not give this error; its text is crm.activity.update's for RESPONSIBLE_ID).
 * - pingOffsets: minutes before the deadline, integers; colorId a string.
 * - Answers `{ id }`; ONCRMACTIVITYADD goes to online handlers and the offline queue (not to
 *   a queue whose auth_connector the call passed).
 * @see api-reference/crm/timeline/activities/todo/crm-activity-todo-add.md
 * @see api-reference/crm/timeline/activities/todo/index.md (read with crm.activity.get/list, PROVIDER_ID CRM_TODO)
 * @see api-reference/crm/timeline/activities/activity-base/crm-activity-get.md (the row's fields)
 * @see api-reference/crm/timeline/activities/activity-base/crm-activity-list.md (filter, order, pages)
 * @see api-reference/crm/timeline/activities/activity-base/crm-activity-update.md (COMPLETED, errors)
 * @see api-reference/crm/timeline/activities/events/on-crm-activity-add.md, on-crm-activity-update.md
 */
import { callConnector, recordOfflineEvent } from '../offline-queue.js'
import { isPlainObject, phpValues } from '../php-query.js'
import { restErrors } from '../rest-error.js'
import type { PortalState } from '../state.js'
import type { PortalActivity } from '../types/crm.js'
import { isoDate, PAGE_SIZE } from './crm-entity-spec.js'
import { comparable, compareNumbers, matchesFilter } from './crm-filter.js'
import { param, toInt, type CallContext, type MethodResult, type MethodTable } from './registry.js'

/** The CRM object types whose records the emulator stores. @see api-reference/crm/data-types.md */
const OWNER_STORES: Record<number, (p: PortalState) => Map<number, Record<string, unknown>>> = {
  1: (p) => p.leads,
  2: (p) => p.deals,
  3: (p) => p.contacts,
}

/** A to-do's TYPE_ID (6 "User Action") and provider. @see api-reference/crm/auxiliary/enum/outdated/crm-enum-activity-type.md */
const TODO_TYPE_ID = '6'

const ISO_DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/

/** ms of an ISO 8601 date-time; without an offset, UTC (the emulated portal's time zone). */
export function parseDeadline(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const m = ISO_DATETIME.exec(value.trim())
  if (!m) return undefined
  const [, y, mo, d, h = '00', mi = '00', s = '00', zone] = m
  const offset = zone === undefined || zone === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${offset}`)
  // Date.parse rolls 2025-02-30 over; the portal does not: compare the parts back.
  if (Number.isNaN(ms)) return undefined
  const check = new Date(Date.parse(`${y}-${mo}-${d}T00:00:00Z`))
  if (check.getUTCDate() !== Number(d) || check.getUTCMonth() + 1 !== Number(mo)) return undefined
  return ms
}

function activeUser(ctx: CallContext, id: number): boolean {
  const user = ctx.portal.user(id)
  return user !== undefined && user.ACTIVE
}

function raise(ctx: CallContext, event: 'ONCRMACTIVITYADD' | 'ONCRMACTIVITYUPDATE', id: number): void {
  const data = { FIELDS: { ID: id } }
  ctx.env.emitEvent(ctx.portal, event, data, ctx.userId)
  recordOfflineEvent(ctx.portal, ctx.env.now(), event, data, callConnector(ctx.params))
}

function todoAdd(ctx: CallContext): MethodResult {
  const ownerTypeId = toInt(param(ctx.params, 'ownerTypeId'))
  const ownerId = toInt(param(ctx.params, 'ownerId'))
  const rawDeadline = param(ctx.params, 'deadline')
  const missing = [
    ownerTypeId === undefined ? 'ownerTypeId' : '',
    ownerId === undefined ? 'ownerId' : '',
    rawDeadline === undefined || rawDeadline === '' ? 'deadline' : '',
  ].filter((n) => n !== '')
  if (missing.length > 0 || ownerTypeId === undefined || ownerId === undefined) {
    throw restErrors.todo('100', `Required fields are missing: ${missing.join(', ')}`)
  }
  const store = OWNER_STORES[ownerTypeId]
  if (!store) throw restErrors.todo('OWNER_NOT_FOUND')
  if (!store(ctx.portal).has(ownerId)) throw restErrors.todo('NOT_FOUND')
  const deadline = parseDeadline(rawDeadline)
  if (deadline === undefined) throw restErrors.todo('WRONG_DATETIME_FORMAT')
  const responsibleParam = param(ctx.params, 'responsibleId')
  const responsibleId = responsibleParam === undefined ? ctx.userId : toInt(responsibleParam)
  if (responsibleId === undefined || !activeUser(ctx, responsibleId)) {
    throw restErrors.crm('The field RESPONSIBLE_ID is not defined or invalid')
  }
  const parentParam = toInt(param(ctx.params, 'parentActivityId'))
  const parentActivityId = parentParam !== undefined && parentParam > 0 ? parentParam : null
  if (parentActivityId !== null && !ctx.portal.todos.has(parentActivityId)) throw restErrors.todo('NOT_FOUND')
  const offsets = (phpValues(param(ctx.params, 'pingOffsets')) ?? [])
    .map(toInt)
    .filter((n): n is number => n !== undefined && n >= 0)
  const color = param(ctx.params, 'colorId')
  const now = ctx.env.now()
  const id = ctx.portal.nextId('activity')
  const todo: PortalActivity = {
    id,
    kind: 'todo',
    callStart: null,
    callEnd: null,
    ownerTypeId,
    ownerId,
    deadline,
    title: stringOr(param(ctx.params, 'title'), ''),
    description: stringOr(param(ctx.params, 'description'), ''),
    responsibleId,
    pingOffsets: [...new Set(offsets)].sort((a, b) => a - b),
    colorId: typeof color === 'string' || typeof color === 'number' ? String(color) : null,
    parentActivityId,
    authorId: ctx.userId,
    editorId: ctx.userId,
    createdAt: now,
    updatedAt: now,
    completed: false,
    completedAt: null,
    completedBy: null,
  }
  ctx.portal.todos.set(id, todo)
  raise(ctx, 'ONCRMACTIVITYADD', id)
  return { result: { id } }
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : fallback
}

/**
 * A call's TYPE_ID (2 "Call") and its provider, as crm.activity.get's example prints a call.
 * @see api-reference/crm/auxiliary/enum/outdated/crm-enum-activity-type.md
 * @see api-reference/crm/timeline/activities/activity-base/crm-activity-get.md
 */
const CALL_TYPE_ID = '2'

/**
 * An activity as crm.activity.get / crm.activity.list print it. A to-do's START_TIME, END_TIME
 * and DEADLINE are its deadline; a call's START_TIME and END_TIME are the call's, its DEADLINE
 * the START_TIME ("taken from START_TIME for calls and meetings", crm-activity-fields.md).
 * Completing either is an update: LAST_UPDATED is then the completion's time.
 */
export function activityRow(a: PortalActivity): Record<string, unknown> {
  const call = a.kind === 'call'
  const deadline = isoDate(a.deadline)
  return {
    ID: String(a.id),
    OWNER_ID: String(a.ownerId),
    OWNER_TYPE_ID: String(a.ownerTypeId),
    TYPE_ID: call ? CALL_TYPE_ID : TODO_TYPE_ID,
    PROVIDER_ID: call ? 'VOXIMPLANT_CALL' : 'CRM_TODO',
    PROVIDER_TYPE_ID: call ? 'CALL' : 'TODO',
    PROVIDER_GROUP_ID: null,
    ASSOCIATED_ENTITY_ID: '0',
    SUBJECT: a.title,
    CREATED: isoDate(a.createdAt),
    LAST_UPDATED: isoDate(a.updatedAt),
    START_TIME: call && a.callStart !== null ? isoDate(a.callStart) : deadline,
    END_TIME: call && a.callEnd !== null ? isoDate(a.callEnd) : deadline,
    DEADLINE: deadline,
    COMPLETED: a.completed ? 'Y' : 'N',
    // crm_enum_activitystatus: 1 waiting, 2 completed.
    STATUS: a.completed ? '2' : '1',
    RESPONSIBLE_ID: String(a.responsibleId),
    PRIORITY: '2',
    DESCRIPTION: a.description,
    DESCRIPTION_TYPE: '1',
    // crm_enum_activitydirection: 2 outgoing (a call a person made); to-dos have none.
    DIRECTION: call ? '2' : '0',
    LOCATION: '',
    SETTINGS: [],
    ORIGINATOR_ID: null,
    ORIGIN_ID: null,
    AUTHOR_ID: String(a.authorId),
    EDITOR_ID: String(a.editorId),
    PROVIDER_PARAMS: [],
    PROVIDER_DATA: null,
  }
}

function readActivity(ctx: CallContext): PortalActivity {
  const id = toInt(param(ctx.params, 'id'))
  if (id === undefined || id <= 0) throw restErrors.crm('ID is not defined or invalid.')
  const todo = ctx.portal.todos.get(id)
  // @see crm-activity-update.md "Possible Error Codes": "Activity is not found"
  if (!todo) throw restErrors.crm('Activity is not found')
  return todo
}

function activityGet(ctx: CallContext): MethodResult {
  return { result: activityRow(readActivity(ctx)) }
}

function activityList(ctx: CallContext): MethodResult {
  const filterParam = param(ctx.params, 'filter')
  const filter = isPlainObject(filterParam) ? filterParam : {}
  const select = (phpValues(param(ctx.params, 'select')) ?? []).map(String).filter((s) => s !== '')
  const orderEntries = isPlainObject(param(ctx.params, 'order'))
    ? Object.entries(param(ctx.params, 'order') as Record<string, unknown>)
    : []
  // Default order: START_TIME ascending (crm-activity-list.md), then ID.
  const keys: Array<[string, number]> = [
    ...(orderEntries.length > 0
      ? orderEntries.map(([f, d]): [string, number] => [f, String(d).toUpperCase() === 'DESC' ? -1 : 1])
      : [['START_TIME', 1] as [string, number]]),
    ['ID', 1],
  ]
  const rows = [...ctx.portal.todos.values()]
    .map(activityRow)
    .filter((r) => matchesFilter(r, filter))
    .sort((a, b) => {
      for (const [field, dir] of keys) {
        const diff = compareNumbers(comparable(a[field]), comparable(b[field]))
        if (diff !== 0) return diff * dir
      }
      return 0
    })
  const all = select.length === 0 || select.includes('*')
  const project = (row: Record<string, unknown>) =>
    all ? row : Object.fromEntries(Object.entries(row).filter(([k]) => k === 'ID' || select.includes(k)))
  const start = Math.max(0, toInt(param(ctx.params, 'start')) ?? 0)
  const page = rows.slice(start, start + PAGE_SIZE).map(project)
  const hasNext = start + PAGE_SIZE < rows.length
  return { result: page, total: rows.length, ...(hasNext ? { next: start + PAGE_SIZE } : {}) }
}

/** Marks a to-do done by `userId` at `now` (the first completion's time stays). */
export function completeTodo(todo: PortalActivity, userId: number, now: number): void {
  if (!todo.completed) {
    todo.completed = true
    todo.completedAt = now
    todo.completedBy = userId
  }
  todo.editorId = userId
  todo.updatedAt = now
}

/**
 * crm.activity.update for a to-do: COMPLETED (Y/N), SUBJECT, DESCRIPTION, RESPONSIBLE_ID; the
 * other fields of the old activity API are not emulated and are ignored.
 */
function activityUpdate(ctx: CallContext): MethodResult {
  const todo = readActivity(ctx)
  const fields = param(ctx.params, 'fields')
  if (!isPlainObject(fields)) throw restErrors.crm("Parameter 'fields' must be array.")
  if (fields['RESPONSIBLE_ID'] !== undefined) {
    const responsible = toInt(fields['RESPONSIBLE_ID'])
    if (responsible === undefined || !activeUser(ctx, responsible)) {
      throw restErrors.crm('The field RESPONSIBLE_ID is not defined or invalid')
    }
    todo.responsibleId = responsible
  }
  if (typeof fields['SUBJECT'] === 'string') todo.title = fields['SUBJECT']
  if (typeof fields['DESCRIPTION'] === 'string') todo.description = fields['DESCRIPTION']
  const now = ctx.env.now()
  const completed = fields['COMPLETED']
  if (completed === 'Y' || completed === true) completeTodo(todo, ctx.userId, now)
  else if (completed === 'N' || completed === false) {
    todo.completed = false
    todo.completedAt = null
    todo.completedBy = null
  }
  todo.editorId = ctx.userId
  todo.updatedAt = now
  raise(ctx, 'ONCRMACTIVITYUPDATE', todo.id)
  return { result: true }
}

export const crmActivityMethods: MethodTable = {
  'crm.activity.todo.add': { scope: 'crm', handler: todoAdd },
  'crm.activity.get': { scope: 'crm', handler: activityGet },
  'crm.activity.list': { scope: 'crm', handler: activityList },
  'crm.activity.update': { scope: 'crm', handler: activityUpdate },
}
