/**
 * The portal's side of the app's iframe: a page that looks roughly like a Bitrix24 slider over
 * the CRM lead list, frames the app the way Bitrix24 does, and answers b24jssdk's postMessage
 * protocol. Used by the settings browser test and `npm run demo`.
 *
 * How Bitrix24 opens an app, and so how this page does it:
 * - An <iframe name="DOMAIN|PROTOCOL|APP_SID"> and a <form method="post" target="<that name>">
 *   whose action is the handler URL with query DOMAIN, PROTOCOL, LANG, APP_SID and whose fields
 *   are AUTH_ID, AUTH_EXPIRES, REFRESH_ID, SERVER_ENDPOINT, member_id, status, PLACEMENT,
 *   PLACEMENT_OPTIONS … (the same fields the emulator's openPlacement() posts).
 *   @see settings/app-installation/index.md, api-reference/widgets/ui-interaction/index.md (b24restdocs)
 * - b24jssdk reads DOMAIN, PROTOCOL and APP_SID from window.name (not from the query), posts
 *   commands to `http(s)://DOMAIN` and ignores every message whose origin is not exactly that.
 *   So DOMAIN must be this page's own host:port. @see b24jssdk dist/esm/loader-b24frame.mjs, frame/frame.mjs
 * - A command is the string `command:params:callbackKey:appSid` (params JSON, left out when
 *   empty, so `getInitData:callbackKey:appSid`); the answer is `callbackKey:JSON`, posted back to
 *   the app's origin. @see b24jssdk dist/esm/frame/message/controller.mjs
 * - `getInitData` is answered with DOMAIN, PROTOCOL, PATH, LANG, MEMBER_ID, IS_ADMIN, AUTH_ID,
 *   REFRESH_ID, AUTH_EXPIRES, APP_OPTIONS, USER_OPTIONS, PLACEMENT, PLACEMENT_OPTIONS, INSTALL,
 *   FIRST_RUN. @see b24jssdk dist/esm/frame/b24.mjs init(), auth.mjs, placement.mjs, options.mjs
 *
 * Where the page lives: a Bitrix24 portal serves its pages and its REST API from one host, and an
 * app that trusts only the portal's REST host (the client_endpoint the OAuth server names) lets
 * only that host frame it (CSP frame-ancestors). In the emulator that host is the emulator
 * itself, so by default (`origin: 'portal'`) this page is served from the emulator's own HTTP
 * server, at `/crm/lead/list/`, beside `/p/<member_id>/rest/`. `origin: 'own'` serves it from a
 * separate server on 127.0.0.1 instead (then the app must accept that origin as a frame parent).
 *
 * Every command the app sends is kept in `window.__b24Commands` ({command, params, at}) and listed
 * on the page. Tokens appear only in the form POST body and in the init data, never in a URL.
 */
import { randomBytes } from 'node:crypto'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { hostPage, leadCard } from './frame-host-page.js'
import type { Emulator, Portal } from './types/emulator.js'

export interface FrameHostOptions {
  emulator: Emulator
  portal: Portal
  /** The app's base URL, e.g. http://127.0.0.1:3000 */
  appUrl: string
  /** Default '/bitrix24/placement'. */
  handlerPath?: string
  /** Default 'CRM_LEAD_LIST_MENU'. */
  placement?: string
  placementOptions?: Record<string, unknown>
  /** The user the frame is opened for (default 1, the portal's admin); `?user=` overrides per page. */
  userId?: number
  /** LANG sent to the app (default the portal's); `?lang=` overrides per page. */
  lang?: string
  /** Slider width in px (default 940); `?width=` overrides per page. */
  width?: number
  /** 'portal' (default): serve from the emulator's own origin; 'own': from a separate server. */
  origin?: 'portal' | 'own'
}

export interface FrameHost {
  /** The page that frames the app: `${origin}/crm/lead/list/` (add ?user=2&lang=ru&width=640). */
  url: string
  /** The origin the page is served from; its host is the DOMAIN the app is given. */
  origin: string
  close(): Promise<void>
}

type Handler = (req: IncomingMessage, res: ServerResponse) => boolean

const LIST_PATH = '/crm/lead/list/'
const CARD_PATH = /^(?:\/p\/[A-Za-z0-9_.-]+)?\/crm\/lead\/details\/(\d+)\/?$/
const REFRESH_PATH = '/_frame-host/refresh'

export async function startFrameHost(opts: FrameHostOptions): Promise<FrameHost> {
  const refreshKey = randomBytes(16).toString('hex')
  let origin = ''
  const handler: Handler = (req, res) => {
    const url = new URL(req.url ?? '/', origin)
    if (req.method === 'GET' && url.pathname === LIST_PATH) {
      send(res, 200, hostPage(opts, origin, url.searchParams, { key: refreshKey, path: REFRESH_PATH }))
      return true
    }
    const card = CARD_PATH.exec(url.pathname)
    if (req.method === 'GET' && card) {
      send(res, 200, leadCard(opts.portal, Number(card[1])))
      return true
    }
    if (req.method === 'POST' && url.pathname === REFRESH_PATH) {
      void refresh(opts.portal, refreshKey, req, res)
      return true
    }
    return false
  }

  if ((opts.origin ?? 'portal') === 'portal') {
    const server = opts.emulator.server
    const previous = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>
    const wrapped = (req: IncomingMessage, res: ServerResponse) => {
      if (handler(req, res)) return
      for (const listener of previous) listener.call(server, req, res)
    }
    server.removeAllListeners('request')
    server.on('request', wrapped)
    origin = new URL(opts.emulator.url).origin
    return {
      url: `${origin}${LIST_PATH}`,
      origin,
      async close() {
        server.off('request', wrapped)
        for (const listener of previous) server.on('request', listener)
      },
    }
  }

  const server = http.createServer((req, res) => {
    if (!handler(req, res)) send(res, 404, 'not found', 'text/plain; charset=utf-8')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: `${origin}${LIST_PATH}`,
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function send(res: ServerResponse, status: number, body: string, type = 'text/html; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
  res.end(body)
}
/** A new token pair for b24jssdk's refreshAuth; the page proves it is ours with its key. */
async function refresh(portal: Portal, key: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body = ''
  for await (const chunk of req) body += String(chunk)
  let parsed: { key?: unknown; user?: unknown } = {}
  try {
    parsed = JSON.parse(body) as typeof parsed
  } catch {
    parsed = {}
  }
  if (parsed.key !== key) return send(res, 403, '{"error":"forbidden"}', 'application/json')
  const tokens = portal.issueToken(Number(parsed.user) || 1)
  send(
    res,
    200,
    JSON.stringify({
      AUTH_ID: tokens.access_token,
      REFRESH_ID: tokens.refresh_token,
      AUTH_EXPIRES: String(tokens.expires_in),
    }),
    'application/json',
  )
}
