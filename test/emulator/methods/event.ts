/**
 * event.bind / event.unbind / event.get, and the list of events an app may bind.
 *
 * A second bind of the same event + handler is refused with ERROR_CORE "Unable to set event
 * handler: Handler already binded" (the portal's uniqueness check, as SDKs in the wild match it).
 * An unknown event, or one whose scope the app lacks, is ERROR_EVENT_NOT_FOUND.
 * Offline bindings (event_type=offline, administrators only) need no handler and may carry an
 * `auth_connector`; their queue is in ../offline-queue.ts, the event.offline.* methods in event-offline.ts.
 * @see api-reference/events/event-bind.md, event-unbind.md, event-get.md, offline-events.md
 */
import { offlineEventMethods } from './event-offline.js'
import { restErrors } from '../rest-error.js'
import type { EventBinding } from '../types/crm.js'
import { checkHandlerUrl } from './handler-url.js'
import { toInt, type CallContext, type MethodResult, type MethodTable } from './registry.js'

function crmEvents(entity: string, extra: string[] = []): string[] {
  return ['ADD', 'UPDATE', 'DELETE', ...extra].map((op) => `ONCRM${entity}${op}`)
}

/** Event name → scope it belongs to (null: basic). @see api-reference/events/events.md */
const EVENT_SCOPES = new Map<string, string | null>([
  ...[
    'ONAPPINSTALL',
    'ONAPPUNINSTALL',
    'ONAPPUPDATE',
    'ONAPPPAYMENT',
    'ONAPPTEST',
    'ONAPPMETHODCONFIRM',
    'ONOFFLINEEVENT',
  ].map((e) => [e, null] as [string, null]),
  ['ONUSERADD', 'user'],
  ...[
    ...crmEvents('LEAD'),
    ...crmEvents('LEADUSERFIELD', ['SETENUMVALUES']),
    ...crmEvents('DEAL', ['MOVETOCATEGORY']),
    ...crmEvents('CONTACT'),
    ...crmEvents('COMPANY'),
    ...crmEvents('ACTIVITY'),
    ...crmEvents('STATUS'),
  ].map((e) => [e, 'crm'] as [string, string]),
])

function upperParams(ctx: CallContext): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(ctx.params)) out[k.toUpperCase()] = v
  return out
}

function isAdmin(ctx: CallContext): boolean {
  return ctx.portal.user(ctx.userId)?.ADMIN === true
}

function eventType(value: unknown): 'online' | 'offline' {
  return typeof value === 'string' && value.toLowerCase() === 'offline' ? 'offline' : 'online'
}

function bind(ctx: CallContext): MethodResult {
  const p = upperParams(ctx)
  const event = typeof p['EVENT'] === 'string' ? p['EVENT'].trim().toUpperCase() : ''
  if (!EVENT_SCOPES.has(event)) throw restErrors.eventNotFound()
  const scope = EVENT_SCOPES.get(event) ?? null
  if (scope !== null && !ctx.scopes.has(scope) && !(scope === 'user' && ctx.scopes.has('user_brief'))) {
    throw restErrors.eventNotFound()
  }
  const type = eventType(p['EVENT_TYPE'])
  // An offline binding calls nothing: its handler is not needed (offline-events.md).
  const handler = typeof p['HANDLER'] === 'string' ? p['HANDLER'].trim() : ''
  if (type === 'online') {
    if (handler === '') throw restErrors.argument('HANDLER')
    checkHandlerUrl(handler)
  }
  const connector = type === 'offline' && typeof p['AUTH_CONNECTOR'] === 'string' ? p['AUTH_CONNECTOR'].trim() : ''
  const authType = toInt(p['AUTH_TYPE']) ?? 0
  if (type === 'offline' && !isAdmin(ctx)) throw restErrors.eventAdminOnly('Offline events binding')
  if (authType !== 0 && authType !== ctx.userId && !isAdmin(ctx)) {
    throw restErrors.eventAdminOnly('Event binding with AUTH_TYPE')
  }
  const duplicate = ctx.portal.events.some(
    (b) =>
      b.event === event &&
      b.handler === handler &&
      b.event_type === type &&
      (b.auth_type ?? 0) === authType &&
      (b.auth_connector ?? '') === connector,
  )
  if (duplicate) throw restErrors.core('Unable to set event handler: Handler already binded')
  const binding: EventBinding = {
    event,
    handler,
    event_type: type,
    auth_type: authType,
    ...(connector !== '' ? { auth_connector: connector } : {}),
  }
  ctx.portal.eventHandlerId(binding)
  ctx.portal.events.push(binding)
  return { result: true }
}

/** Removes the matching handlers; an absent parameter matches everything. */
function unbind(ctx: CallContext): MethodResult {
  const p = upperParams(ctx)
  const event = typeof p['EVENT'] === 'string' && p['EVENT'] !== '' ? p['EVENT'].trim().toUpperCase() : undefined
  const handler = typeof p['HANDLER'] === 'string' && p['HANDLER'] !== '' ? p['HANDLER'].trim() : undefined
  const type = eventType(p['EVENT_TYPE'])
  const authType = p['AUTH_TYPE'] === undefined ? undefined : (toInt(p['AUTH_TYPE']) ?? 0)
  if (type === 'offline' && !isAdmin(ctx)) throw restErrors.eventAdminOnly('Offline events unbinding')
  if (authType !== undefined && authType !== 0 && authType !== ctx.userId && !isAdmin(ctx)) {
    throw restErrors.eventAdminOnly('Event unbinding with AUTH_TYPE')
  }
  const before = ctx.portal.events.length
  ctx.portal.events = ctx.portal.events.filter(
    (b) =>
      !(
        (event === undefined || b.event === event) &&
        (handler === undefined || b.handler === handler) &&
        b.event_type === type &&
        (authType === undefined || (b.auth_type ?? 0) === authType)
      ),
  )
  return { result: { count: before - ctx.portal.events.length } }
}

function get(ctx: CallContext): MethodResult {
  return {
    result: ctx.portal.events.map((b) => ({
      event: b.event,
      handler: b.handler,
      auth_type: String(b.auth_type ?? 0),
      offline: b.event_type === 'offline' ? 1 : 0,
    })),
  }
}

export const eventMethods: MethodTable = {
  ...offlineEventMethods,
  'event.bind': { scope: null, handler: bind },
  'event.unbind': { scope: null, handler: unbind },
  'event.get': { scope: null, handler: get },
  events: {
    scope: null,
    handler: (ctx) => ({
      result: [...EVENT_SCOPES].filter(([, s]) => s === null || ctx.scopes.has(s)).map(([e]) => e),
    }),
  },
}
