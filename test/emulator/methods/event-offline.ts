/**
 * The methods that read the app's offline event queue (offline-queue.ts).
 *
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
import { isPlainObject, phpValues, type PhpMap } from '../php-query.js'
import { expire, queueOf, callConnector, type OfflineRecord } from '../offline-queue.js'
import { restErrors } from '../rest-error.js'
import { randomHex } from '../tokens.js'
import { isoDate } from './crm-entity-spec.js'
import { matchesFilter } from './crm-filter.js'
import { param, toInt, type CallContext, type MethodResult, type MethodTable } from './registry.js'

const PAGE = 50

function requireAdmin(ctx: CallContext): void {
  if (ctx.portal.user(ctx.userId)?.ADMIN !== true) throw restErrors.accessDenied()
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
