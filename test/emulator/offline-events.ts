/**
 * The offline event queue of the app on one portal, and the methods that read it.
 *
 * What the docs say, and how it is emulated:
 * - An offline binding (event.bind event_type=offline, no handler) does not call anything: each
 *   change is recorded in a queue on the portal. @see api-reference/events/offline-events.md
 * - The queue keeps the current state, not the history: the same object changed 1000 times is
 *   one record with the time of the last change. Here: one unreserved record per event name +
 *   MESSAGE_ID (a hash of the event's data, i.e. of the entity id) + source; a later change moves
 *   its TIMESTAMP_X. A record already reserved by a `clear=0` get is not touched: the change
 *   after the reservation becomes a new record, so clearing the reserved batch cannot drop it
 *   (the docs do not say this; it is the only reading under which reservation is lossless).
 * - `auth_connector` (a source key) on the binding makes a separate queue; a modifying call that
 *   passes the same key is not recorded there. get/list without the matching key see only the
 *   records without a source. @see offline-events.md "How to Avoid Cycles"
 *   In a batch the key counts per command (the modifying call is the command, not the batch).
 * - event.offline.get: `clear=1` (default) returns the first records and deletes them; `clear=0`
 *   marks them with a new `process_id`, returns it and hides them from other requests;
 *   `process_id` re-selects that process's unprocessed records (plus free ones) under the same id.
 *   `limit` default 50, `order` default TIMESTAMP_X ASC, `filter` on ID, TIMESTAMP_X, EVENT_NAME,
 *   MESSAGE_ID, `error=1` returns the records marked erroneous. A reserved batch is kept up to
 *   30 days. @see api-reference/events/event-offline-get.md
 * - event.offline.clear: `process_id` required; `id` or `message_id` lists clear part of the batch.
 *   @see api-reference/events/event-offline-clear.md
 * - event.offline.error: marks records of a process as erroneous (they leave the reservation and
 *   come back only with get `error=1`). @see api-reference/events/event-offline-error.md
 * - event.offline.list: reads without changing anything, pages of 50 by `start`, PROCESS_ID and
 *   ERROR included. @see api-reference/events/event-offline-list.md
 * - All four: administrators only (403 ACCESS_DENIED). The emulator knows only app auth, which
 *   is the only context they work in.
 */
import { createHash } from 'node:crypto'
import type { EmulatorContext } from './context.js'
import { emitEvent } from './lifecycle.js'
import { isPlainObject, phpValues, type PhpMap } from './php-query.js'
import { restErrors } from './rest-error.js'
import type { PortalState } from './state.js'
import { randomHex } from './tokens.js'
import { isoDate, matchesFilter } from './methods/crm-entity.js'
import { param, toInt, type CallContext, type MethodResult, type MethodTable } from './methods/registry.js'

export interface OfflineRecord {
  id: number
  /** ms of the last change */
  timestamp: number
  event: string
  data: Record<string, unknown>
  messageId: string
  /** the binding's auth_connector ('' = no source) */
  connector: string
  /** '' while free */
  processId: string
  reservedAt: number
  error: boolean
}

interface Queue {
  records: OfflineRecord[]
  nextId: number
}

const RESERVATION_MS = 30 * 24 * 3600 * 1000
const PAGE = 50
const queues = new WeakMap<PortalState, Queue>()

function queueOf(portal: PortalState): Queue {
  let q = queues.get(portal)
  if (!q) {
    q = { records: [], nextId: 0 }
    queues.set(portal, q)
  }
  return q
}

/** Every record of the portal's queue (for tests), oldest first. */
export function offlineRecords(portal: PortalState): readonly OfflineRecord[] {
  return queueOf(portal).records
}

/** The `auth_connector` a modifying call passed ('' when none). */
export function callConnector(params: PhpMap): string {
  const value = param(params, 'auth_connector')
  return typeof value === 'string' ? value.trim() : ''
}

function messageIdOf(event: string, data: Record<string, unknown>): string {
  return createHash('md5')
    .update(`${event}|${JSON.stringify(data)}`)
    .digest('hex')
}

/**
 * Records a change for each offline binding of `event`, except bindings whose source key the
 * changing call passed.
 */
export function recordOfflineEvent(
  portal: PortalState,
  now: number,
  event: string,
  data: Record<string, unknown>,
  connector: string,
): void {
  const sources = new Set(
    portal.events.filter((b) => b.event === event && b.event_type === 'offline').map((b) => b.auth_connector ?? ''),
  )
  if (sources.size === 0) return
  const q = queueOf(portal)
  const messageId = messageIdOf(event, data)
  for (const source of sources) {
    if (source !== '' && source === connector) continue
    const free = q.records.find(
      (r) => r.event === event && r.messageId === messageId && r.connector === source && r.processId === '' && !r.error,
    )
    if (free) {
      free.timestamp = now
      continue
    }
    q.nextId += 1
    q.records.push({
      id: q.nextId,
      timestamp: now,
      event,
      data: structuredClone(data),
      messageId,
      connector: source,
      processId: '',
      reservedAt: 0,
      error: false,
    })
  }
}

function requireAdmin(ctx: CallContext): void {
  if (ctx.portal.user(ctx.userId)?.ADMIN !== true) throw restErrors.accessDenied()
}

/** Drops reservations older than 30 days, as the portal deletes them. */
function expire(portal: PortalState, now: number): void {
  const q = queueOf(portal)
  q.records = q.records.filter((r) => r.processId === '' || now - r.reservedAt < RESERVATION_MS)
}

function asRow(r: OfflineRecord, withProcess: boolean): Record<string, unknown> {
  const row: Record<string, unknown> = {
    ID: String(r.id),
    TIMESTAMP_X: isoDate(r.timestamp),
    EVENT_NAME: r.event,
    EVENT_DATA: structuredClone(r.data),
    EVENT_ADDITIONAL: false,
    MESSAGE_ID: r.messageId,
  }
  if (withProcess) {
    row['PROCESS_ID'] = r.processId
    row['ERROR'] = r.error ? '1' : '0'
  }
  return row
}

/** The record as the filter sees it: ISO dates compare as strings, like the docs' ISO values. */
function filterView(r: OfflineRecord): Record<string, unknown> {
  return { ...asRow(r, true), ID: r.id }
}

function sorted(records: OfflineRecord[], order: unknown, fallback: 'TIMESTAMP_X' | 'ID'): OfflineRecord[] {
  const entries = isPlainObject(order) ? Object.entries(order) : []
  const keys =
    entries.length > 0
      ? entries.map(([k, d]) => [k.toUpperCase(), String(d).toUpperCase() === 'DESC' ? -1 : 1] as const)
      : [[fallback, 1] as const]
  const value = (r: OfflineRecord, key: string): string | number =>
    key === 'ID'
      ? r.id
      : key === 'TIMESTAMP_X'
        ? r.timestamp
        : key === 'EVENT_NAME'
          ? r.event
          : key === 'MESSAGE_ID'
            ? r.messageId
            : ''
  return [...records].sort((a, b) => {
    for (const [key, dir] of keys) {
      const x = value(a, key)
      const y = value(b, key)
      if (x < y) return -dir
      if (x > y) return dir
    }
    return a.id - b.id
  })
}

function filterOf(ctx: CallContext): PhpMap {
  const f = param(ctx.params, 'filter')
  return isPlainObject(f) ? f : {}
}

function get(ctx: CallContext): MethodResult {
  requireAdmin(ctx)
  const now = ctx.env.now()
  expire(ctx.portal, now)
  const q = queueOf(ctx.portal)
  const connector = callConnector(ctx.params)
  const clear = toInt(param(ctx.params, 'clear')) ?? 1
  const wantErrors = (toInt(param(ctx.params, 'error')) ?? 0) === 1
  const given = param(ctx.params, 'process_id')
  const processId = typeof given === 'string' && given.trim() !== '' ? given.trim() : ''
  const limit = Math.max(1, toInt(param(ctx.params, 'limit')) ?? PAGE)
  const filter = filterOf(ctx)
  const candidates = q.records.filter(
    (r) =>
      r.connector === connector &&
      r.error === wantErrors &&
      (r.processId === '' || (processId !== '' && r.processId === processId)) &&
      matchesFilter(filterView(r), filter),
  )
  const picked = sorted(candidates, param(ctx.params, 'order'), 'TIMESTAMP_X').slice(0, limit)
  const events = picked.map((r) => asRow(r, false))
  if (clear !== 0) {
    const gone = new Set(picked)
    q.records = q.records.filter((r) => !gone.has(r))
    return { result: { process_id: null, events } }
  }
  const id = processId !== '' ? processId : randomHex(16)
  for (const r of picked) {
    r.processId = id
    r.reservedAt = now
  }
  return { result: { process_id: id, events } }
}

function idList(value: unknown): string[] | undefined {
  const list = phpValues(value) ?? (typeof value === 'string' || typeof value === 'number' ? [value] : undefined)
  return list?.map((v) => String(v))
}

function requireProcess(ctx: CallContext): string {
  const given = param(ctx.params, 'process_id')
  if (typeof given !== 'string' || given.trim() === '') throw restErrors.argument('PROCESS_ID')
  return given.trim()
}

function clear(ctx: CallContext): MethodResult {
  requireAdmin(ctx)
  const processId = requireProcess(ctx)
  const q = queueOf(ctx.portal)
  const ids = idList(param(ctx.params, 'id'))
  const messageIds = ids === undefined ? idList(param(ctx.params, 'message_id')) : undefined
  q.records = q.records.filter((r) => {
    if (r.processId !== processId) return true
    if (ids !== undefined) return !ids.includes(String(r.id))
    if (messageIds !== undefined) return !messageIds.includes(r.messageId)
    return false
  })
  return { result: true }
}

function error(ctx: CallContext): MethodResult {
  requireAdmin(ctx)
  const processId = requireProcess(ctx)
  const messageIds = idList(param(ctx.params, 'message_id')) ?? []
  for (const r of queueOf(ctx.portal).records) {
    if (r.processId === processId && messageIds.includes(r.messageId)) {
      r.error = true
      r.processId = ''
    }
  }
  return { result: true }
}

function list(ctx: CallContext): MethodResult {
  requireAdmin(ctx)
  expire(ctx.portal, ctx.env.now())
  const connector = callConnector(ctx.params)
  const filter = filterOf(ctx)
  const rows = sorted(
    queueOf(ctx.portal).records.filter((r) => r.connector === connector && matchesFilter(filterView(r), filter)),
    param(ctx.params, 'order'),
    'ID',
  )
  const start = Math.max(0, toInt(param(ctx.params, 'start')) ?? 0)
  const page = rows.slice(start, start + PAGE).map((r) => asRow(r, true))
  return { result: page, total: rows.length, ...(start + PAGE < rows.length ? { next: start + PAGE } : {}) }
}

export const offlineEventMethods: MethodTable = {
  'event.offline.get': { scope: null, handler: get },
  'event.offline.clear': { scope: null, handler: clear },
  'event.offline.error': { scope: null, handler: error },
  'event.offline.list': { scope: null, handler: list },
}

/**
 * A person moves a lead (STATUS_ID) or a deal (STAGE_ID) in the CRM: the record changes, its
 * semantic follows the portal's stage directory, ONCRM…UPDATE goes to online handlers and
 * into the offline queue (a person's change carries no source key).
 * @see api-reference/crm/leads/crm-lead-update.md, api-reference/crm/deals/crm-deal-update.md
 */
export function moveEntity(
  ctx: EmulatorContext,
  portal: PortalState,
  kind: 'lead' | 'deal',
  id: number,
  stageId: string,
  userId = portal.installerUserId,
): void {
  const store = kind === 'lead' ? portal.leads : portal.deals
  const record = store.get(id)
  if (!record) throw new Error(`b24 emulator: no ${kind} ${id} on portal ${portal.memberId}`)
  const directory = kind === 'lead' ? 'STATUS' : 'DEAL_STAGE'
  const stage = portal.statusesOf(directory).find((s) => s.STATUS_ID === stageId)
  if (!stage) throw new Error(`b24 emulator: ${stageId} is not in ${directory}`)
  const semantics = stage.EXTRA?.SEMANTICS
  const letter = semantics === 'success' ? 'S' : semantics === 'failure' ? 'F' : 'P'
  const now = ctx.now()
  const at = isoDate(now)
  if (kind === 'lead') {
    record['STATUS_ID'] = stageId
    record['STATUS_SEMANTIC_ID'] = letter
  } else {
    record['STAGE_ID'] = stageId
    record['STAGE_SEMANTIC_ID'] = letter
    record['CLOSED'] = letter === 'P' ? 'N' : 'Y'
  }
  record['MOVED_BY_ID'] = String(userId)
  record['MOVED_TIME'] = at
  record['MODIFY_BY_ID'] = String(userId)
  record['DATE_MODIFY'] = at
  const event = kind === 'lead' ? 'ONCRMLEADUPDATE' : 'ONCRMDEALUPDATE'
  const data = { FIELDS: { ID: id } }
  emitEvent(ctx, portal, event, data, userId)
  recordOfflineEvent(portal, now, event, data, '')
}
