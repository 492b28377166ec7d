/**
 * Events from the portal to the app's handlers: a server-to-server POST, PHP-nested form fields
 * event, event_handler_id, data[…], ts, auth[…] with auth[application_token]. Not sent before
 * the install is finished.
 * @see api-reference/common/events/on-app-install.md, on-app-uninstall.md
 * @see api-reference/crm/leads/events/on-crm-lead-update.md
 * @see settings/app-installation/installation-finish.md ("Events will not be sent…")
 */
import type { EmulatorContext } from './context.js'
import { postEvent } from './outbound-post.js'
import type { PhpMap } from './php-query.js'
import type { PortalState } from './state.js'
import type { EventBinding } from './types/crm.js'
import type { HttpReply } from './types/records.js'

function eventAuth(ctx: EmulatorContext, portal: PortalState, userId: number, applicationToken: string | null): PhpMap {
  const tokens = portal.issueToken(userId)
  return {
    access_token: tokens.access_token,
    expires: String(tokens.expires),
    expires_in: String(tokens.expires_in),
    scope: ctx.scopeText,
    domain: portal.domain,
    server_endpoint: portal.serverEndpoint,
    status: portal.appStatus,
    client_endpoint: portal.clientEndpoint,
    member_id: portal.memberId,
    user_id: String(userId),
    refresh_token: tokens.refresh_token,
    application_token: applicationToken ?? '',
  }
}

export function ts(ctx: EmulatorContext): string {
  return String(Math.floor(ctx.now() / 1000))
}

export function boundFor(portal: PortalState, event: string): EventBinding[] {
  return portal.events.filter((b) => b.event === event && b.event_type === 'online')
}

export async function sendEvent(
  ctx: EmulatorContext,
  portal: PortalState,
  event: string,
  data: Record<string, unknown>,
  target: { url: string; binding?: EventBinding },
  userId: number,
  applicationToken: string | null,
): Promise<HttpReply> {
  const authUser = target.binding?.auth_type ? target.binding.auth_type : userId
  const form: PhpMap = {
    event,
    ...(target.binding ? { event_handler_id: String(portal.eventHandlerId(target.binding)) } : {}),
    data,
    ts: ts(ctx),
    auth: eventAuth(ctx, portal, authUser, applicationToken),
  }
  return postEvent(ctx, { kind: 'event', portal, url: target.url, form, event })
}

/**
 * Delivers `event` to every online handler bound for it (or only to `opts.url`), with the
 * portal's application_token unless `opts.applicationToken` forges another. Without `opts.url`
 * nothing is sent while the app is not installed.
 */
export async function deliverEvent(
  ctx: EmulatorContext,
  portal: PortalState,
  event: string,
  data: Record<string, unknown>,
  opts: { applicationToken?: string; url?: string } = {},
  userId?: number,
): Promise<HttpReply[]> {
  const name = event.toUpperCase()
  const token = opts.applicationToken ?? portal.applicationToken
  const user = userId ?? portal.installerUserId
  if (opts.url !== undefined) return [await sendEvent(ctx, portal, name, data, { url: opts.url }, user, token)]
  if (!portal.installed) return []
  const replies: HttpReply[] = []
  for (const binding of boundFor(portal, name)) {
    replies.push(await sendEvent(ctx, portal, name, data, { url: binding.handler, binding }, user, token))
  }
  return replies
}

/** Fire-and-forget delivery of a CRM event raised by a REST call. */
export function emitEvent(
  ctx: EmulatorContext,
  portal: PortalState,
  event: string,
  data: Record<string, unknown>,
  userId: number,
): void {
  if (!portal.installed || boundFor(portal, event).length === 0) return
  ctx.track(() => deliverEvent(ctx, portal, event, data, {}, userId))
}
