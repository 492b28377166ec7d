/**
 * Bitrix24's side of the app lifecycle: the POSTs a portal makes to the app.
 *
 * - Install / placement / main page: a browser form POST (application/x-www-form-urlencoded) to
 *   the page with AUTH_ID, AUTH_EXPIRES, REFRESH_ID, SERVER_ENDPOINT, APPLICATION_TOKEN,
 *   APPLICATION_SCOPE, member_id, status, PLACEMENT, PLACEMENT_OPTIONS in the body and DOMAIN,
 *   PROTOCOL (0: http here), LANG, APP_SID in the query.
 *   @see settings/oauth/simple-way.md, api-reference/widgets/crm/detail-tab.md
 * - Events: a server-to-server POST, PHP-nested form fields: event, event_handler_id, data[…],
 *   ts, auth[…] with auth[application_token]. Not sent before the install is finished.
 *   @see api-reference/common/events/on-app-install.md, on-app-uninstall.md
 *   @see api-reference/crm/leads/events/on-crm-lead-update.md
 *   @see settings/app-installation/installation-finish.md ("Events will not be sent…")
 * - Uninstall: every token is revoked first, then ONAPPUNINSTALL goes out with no usable token.
 *   @see api-reference/events/safe-event-handlers.md
 */
import type { EmulatorContext } from './context.js'
import { stringifyPhpQuery, type PhpMap } from './php-query.js'
import type { PortalState } from './state.js'
import { randomHex } from './tokens.js'
import type { EventBinding, HttpReply, InstallAppInput, IssuedTokens } from './types.js'

interface PostInput {
  kind: 'install' | 'placement' | 'event'
  portal: PortalState
  url: string
  form: PhpMap
  query?: Record<string, string>
  event?: string
}

function withQuery(url: string, query: Record<string, string> | undefined): string {
  if (!query || Object.keys(query).length === 0) return url
  return `${url}${url.includes('?') ? '&' : '?'}${new URLSearchParams(query).toString()}`
}

function headersOf(response: Response): HttpReply['headers'] {
  const out: HttpReply['headers'] = {}
  response.headers.forEach((value, key) => {
    out[key] = value
  })
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) out['set-cookie'] = cookies
  return out
}

/** One POST to the app. Network failures come back as status 0 with the reason in `body`. */
export async function postForm(ctx: EmulatorContext, input: PostInput): Promise<HttpReply> {
  const url = withQuery(input.url, input.query)
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new Error('outbound timeout')), ctx.outboundTimeoutMs)
  const onClose = () => controller.abort(new Error('emulator closed'))
  ctx.closing.addEventListener('abort', onClose, { once: true })
  let reply: HttpReply
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: stringifyPhpQuery(input.form),
      redirect: 'manual',
      signal: controller.signal,
    })
    reply = { status: response.status, headers: headersOf(response), body: await response.text() }
  } catch (err) {
    reply = { status: 0, headers: {}, body: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }
  } finally {
    clearTimeout(timer)
    ctx.closing.removeEventListener('abort', onClose)
  }
  ctx.deliveries.push({
    at: ctx.now(),
    memberId: input.portal.memberId,
    kind: input.kind,
    url,
    ...(input.event !== undefined ? { event: input.event } : {}),
    status: reply.status,
  })
  return reply
}

const heldEvents = new WeakMap<EmulatorContext, () => Promise<void>>()
/** How long a reordered event waits for a next one before it goes out anyway. */
const REORDER_HOLD_MS = 1000

/**
 * An event POST through the event faults (ctx.faults.events): lost (never sent, never retried),
 * delayed, or held back and sent after the next event. Events are queued on the portal and
 * delivered late or out of order; a failed delivery is not retried.
 * @see events/index.md, api-reference/events/index.md
 */
async function postEvent(ctx: EmulatorContext, input: PostInput): Promise<HttpReply> {
  const f = ctx.faults.events
  if (f.loseNext > 0) {
    f.loseNext -= 1
    ctx.deliveries.push({
      at: ctx.now(),
      memberId: input.portal.memberId,
      kind: input.kind,
      url: input.url,
      ...(input.event !== undefined ? { event: input.event } : {}),
      status: 0,
      fault: 'lost',
    })
    return { status: 0, headers: {}, body: 'lost' }
  }
  if (f.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, f.delayMs))
  if (!f.reorder) return postForm(ctx, input)
  const previous = heldEvents.get(ctx)
  if (previous) {
    heldEvents.delete(ctx)
    const reply = await postForm(ctx, input)
    await previous()
    return reply
  }
  return new Promise<HttpReply>((resolve) => {
    let sent = false
    const send = async () => {
      if (sent) return
      sent = true
      clearTimeout(timer)
      if (heldEvents.get(ctx) === send) heldEvents.delete(ctx)
      resolve(await postForm(ctx, input))
    }
    const timer = setTimeout(() => void send(), REORDER_HOLD_MS)
    heldEvents.set(ctx, send)
  })
}

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

function ts(ctx: EmulatorContext): string {
  return String(Math.floor(ctx.now() / 1000))
}

function boundFor(portal: PortalState, event: string): EventBinding[] {
  return portal.events.filter((b) => b.event === event && b.event_type === 'online')
}

async function sendEvent(
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
