/**
 * Bitrix24's side of the app lifecycle: the POSTs a portal makes to the app.
 *
 * - Install / placement / main page: a browser form POST (application/x-www-form-urlencoded) to
 *   the page with AUTH_ID, AUTH_EXPIRES, REFRESH_ID, SERVER_ENDPOINT, APPLICATION_TOKEN,
 *   APPLICATION_SCOPE, member_id, status, PLACEMENT, PLACEMENT_OPTIONS in the body and DOMAIN,
 *   PROTOCOL (0: http here), LANG, APP_SID in the query.
 *   @see settings/oauth/simple-way.md, api-reference/widgets/crm/detail-tab.md
 * - Events (ONAPPINSTALL, ONAPPUPDATE, ONAPPUNINSTALL) go out as event-delivery.ts sends them.
 *   @see api-reference/common/events/on-app-install.md, on-app-uninstall.md
 * - Uninstall: every token is revoked first, then ONAPPUNINSTALL goes out with no usable token.
 *   @see api-reference/events/safe-event-handlers.md
 */
import type { EmulatorContext } from './context.js'
import { boundFor, sendEvent, ts } from './event-delivery.js'
import { postEvent, postForm } from './outbound-post.js'
import type { PhpMap } from './php-query.js'
import type { PortalState } from './state.js'
import { randomHex } from './tokens.js'
import type { EventBinding } from './types/crm.js'
import type { HttpReply, IssuedTokens } from './types/records.js'
import type { InstallAppInput } from './types/emulator.js'

function frameQuery(portal: PortalState): Record<string, string> {
  return { DOMAIN: portal.domain, PROTOCOL: '0', LANG: portal.lang, APP_SID: randomHex(16) }
}

function frameForm(
  ctx: EmulatorContext,
  portal: PortalState,
  tokens: IssuedTokens,
  placement: string,
  options: Record<string, unknown>,
): PhpMap {
  return {
    AUTH_ID: tokens.access_token,
    AUTH_EXPIRES: String(tokens.expires_in),
    REFRESH_ID: tokens.refresh_token,
    SERVER_ENDPOINT: portal.serverEndpoint,
    ...(portal.applicationToken ? { APPLICATION_TOKEN: portal.applicationToken } : {}),
    APPLICATION_SCOPE: ctx.scopeText,
    member_id: portal.memberId,
    status: portal.appStatus,
    PLACEMENT: placement,
    PLACEMENT_OPTIONS: JSON.stringify(options),
  }
}

async function deliverInstallEvent(ctx: EmulatorContext, portal: PortalState): Promise<HttpReply[]> {
  const bound = boundFor(portal, 'ONAPPINSTALL')
  const fallback = portal.pendingInstallHandler
  const targets: Array<{ url: string; binding?: EventBinding }> =
    bound.length > 0 ? bound.map((b) => ({ url: b.handler, binding: b })) : fallback ? [{ url: fallback }] : []
  const data = { VERSION: '1', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: portal.lang }
  const replies: HttpReply[] = []
  for (const target of targets) {
    replies.push(
      await sendEvent(ctx, portal, 'ONAPPINSTALL', data, target, portal.installerUserId, portal.applicationToken),
    )
  }
  return replies
}

/**
 * Opens the install page for the installing user (an admin by default), then — as if the page
 * called installFinish() — marks the app installed and delivers ONAPPINSTALL to the handlers the
 * app bound for it meanwhile, else to `eventHandlerUrl`. Answers the install page's reply.
 */
export async function installApp(
  ctx: EmulatorContext,
  portal: PortalState,
  input: InstallAppInput,
): Promise<HttpReply> {
  portal.installerUserId = input.userId ?? 1
  portal.appStatus = input.status ?? 'L'
  portal.applicationToken = randomHex(16)
  portal.pendingInstallHandler = input.eventHandlerUrl
  const tokens = portal.issueToken(portal.installerUserId)
  const reply = await postForm(ctx, {
    kind: 'install',
    portal,
    url: input.installUrl,
    query: frameQuery(portal),
    form: frameForm(ctx, portal, tokens, 'DEFAULT', {}),
  })
  if (input.finish !== false) await finishInstall(ctx, portal)
  return reply
}

/** installFinish(): the app counts as installed and ONAPPINSTALL goes out. */
export async function finishInstall(ctx: EmulatorContext, portal: PortalState): Promise<HttpReply[]> {
  if (portal.applicationToken === null) throw new Error('installApp() first: the portal has no install in progress')
  portal.installed = true
  return deliverInstallEvent(ctx, portal)
}

export async function openPlacement(
  ctx: EmulatorContext,
  portal: PortalState,
  args: { url: string; placement?: string; options?: Record<string, unknown>; userId?: number },
): Promise<HttpReply> {
  const tokens = portal.issueToken(args.userId ?? 1)
  return postForm(ctx, {
    kind: 'placement',
    portal,
    url: args.url,
    query: frameQuery(portal),
    form: frameForm(ctx, portal, tokens, args.placement ?? 'DEFAULT', args.options ?? {}),
  })
}

/**
 * Revokes every token, unbinds everything, then sends ONAPPUNINSTALL (data[CLEAN], no access
 * token) to the handlers that were bound for it.
 */
export async function uninstallApp(
  ctx: EmulatorContext,
  portal: PortalState,
  opts: { clean?: boolean } = {},
): Promise<HttpReply[]> {
  const wasInstalled = portal.installed
  const handlers = boundFor(portal, 'ONAPPUNINSTALL')
  const applicationToken = portal.applicationToken
  ctx.tokens.revokePortal(portal.memberId)
  portal.installed = false
  portal.events = []
  portal.placements = []
  portal.applicationToken = null
  portal.pendingInstallHandler = undefined
  if (!wasInstalled) return []
  const replies: HttpReply[] = []
  for (const binding of handlers) {
    const form: PhpMap = {
      event: 'ONAPPUNINSTALL',
      event_handler_id: String(portal.eventHandlerId(binding)),
      data: { LANGUAGE_ID: portal.lang, CLEAN: opts.clean ? '1' : '0' },
      ts: ts(ctx),
      auth: {
        domain: portal.domain,
        server_endpoint: portal.serverEndpoint,
        client_endpoint: portal.clientEndpoint,
        member_id: portal.memberId,
        application_token: applicationToken ?? '',
      },
    }
    replies.push(await postEvent(ctx, { kind: 'event', portal, url: binding.handler, form, event: 'ONAPPUNINSTALL' }))
  }
  return replies
}

const appVersions = new WeakMap<PortalState, string>()

/**
 * The installed version as app.info prints it (an integer in the docs' example; ONAPPUPDATE
 * carries it as a string). @see api-reference/common/system/app-info.md
 */
export function appVersionOf(portal: PortalState): number | string {
  const v = appVersions.get(portal) ?? '1'
  return /^\d+$/.test(v) ? Number(v) : v
}

/**
 * A new version of the app is installed on the portal: a new application_token is issued, the
 * handlers and placements the old version bound are gone, and ONAPPUPDATE (VERSION,
 * PREVIOUS_VERSION, LANGUAGE_ID, the new application_token) goes to the handlers that were bound
 * for it. @see api-reference/common/events/on-app-update.md
 */
export async function updateApp(
  ctx: EmulatorContext,
  portal: PortalState,
  opts: { version: string },
): Promise<HttpReply[]> {
  if (!portal.installed) throw new Error('updateApp(): the app is not installed on this portal')
  const previous = appVersions.get(portal) ?? '1'
  appVersions.set(portal, opts.version)
  const handlers = boundFor(portal, 'ONAPPUPDATE')
  portal.applicationToken = randomHex(16)
  portal.events = []
  portal.placements = []
  const data = { VERSION: opts.version, PREVIOUS_VERSION: previous, LANGUAGE_ID: portal.lang }
  const replies: HttpReply[] = []
  for (const binding of handlers) {
    replies.push(
      await sendEvent(
        ctx,
        portal,
        'ONAPPUPDATE',
        data,
        { url: binding.handler, binding },
        portal.installerUserId,
        portal.applicationToken,
      ),
    )
  }
  return replies
}
