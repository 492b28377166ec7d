/**
 * The offline event queue of the app on one portal: what changes are recorded, and how.
 * The methods that read it are in methods/event-offline.ts.
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
 * - A reserved batch is kept up to 30 days. @see api-reference/events/event-offline-get.md
 */
import { createHash } from 'node:crypto'
import { param } from './methods/registry.js'
import type { PhpMap } from './php-query.js'
import type { PortalState } from './state.js'

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

export interface Queue {
  records: OfflineRecord[]
  nextId: number
}

const RESERVATION_MS = 30 * 24 * 3600 * 1000
const queues = new WeakMap<PortalState, Queue>()

export function queueOf(portal: PortalState): Queue {
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

/** Drops reservations older than 30 days, as the portal deletes them. */
export function expire(portal: PortalState, now: number): void {
  const q = queueOf(portal)
  q.records = q.records.filter((r) => r.processId === '' || now - r.reservedAt < RESERVATION_MS)
}
