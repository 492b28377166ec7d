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
import type { Emulator, Portal } from './app.js'

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
      send(res, 200, hostPage(opts, origin, url.searchParams, refreshKey))
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

function esc(s: unknown): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  )
}

/** JSON safe inside <script>. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
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

function hostPage(opts: FrameHostOptions, origin: string, query: URLSearchParams, refreshKey: string): string {
  const portal = opts.portal
  const userId = Number(query.get('user')) || opts.userId || 1
  const user = portal.users.find((u) => u.ID === userId)
  const lang = (query.get('lang') ?? opts.lang ?? portal.lang).replace(/[^a-z]/gi, '').slice(0, 2) || 'en'
  const width = Math.min(1600, Math.max(360, Number(query.get('width')) || opts.width || 940))
  const tokens = portal.issueToken(userId)
  const appSid = randomBytes(16).toString('hex')
  const domain = new URL(origin).host
  const placement = opts.placement ?? 'CRM_LEAD_LIST_MENU'
  const placementOptions = opts.placementOptions ?? {}
  const frameName = `${domain}|0|${appSid}`
  const action = `${opts.appUrl.replace(/\/$/, '')}${opts.handlerPath ?? '/bitrix24/placement'}?${new URLSearchParams({ DOMAIN: domain, PROTOCOL: '0', LANG: lang, APP_SID: appSid })}`
  const form: Record<string, string> = {
    AUTH_ID: tokens.access_token,
    AUTH_EXPIRES: String(tokens.expires_in),
    REFRESH_ID: tokens.refresh_token,
    SERVER_ENDPOINT: portal.serverEndpoint,
    ...(portal.applicationToken ? { APPLICATION_TOKEN: portal.applicationToken } : {}),
    APPLICATION_SCOPE: 'crm,placement,user_brief',
    member_id: portal.memberId,
    status: portal.appStatus,
    PLACEMENT: placement,
    PLACEMENT_OPTIONS: JSON.stringify(placementOptions),
  }
  const conf = {
    appOrigin: new URL(opts.appUrl).origin,
    appSid,
    userId,
    refreshKey,
    refreshPath: REFRESH_PATH,
    users: portal.users.filter((u) => u.ACTIVE).map((u) => ({ id: u.ID, name: `${u.NAME} ${u.LAST_NAME}`.trim() })),
    initData: {
      DOMAIN: domain,
      PROTOCOL: 0,
      PATH: '/rest/',
      LANG: lang,
      MEMBER_ID: portal.memberId,
      IS_ADMIN: !!user?.ADMIN,
      AUTH_ID: tokens.access_token,
      REFRESH_ID: tokens.refresh_token,
      AUTH_EXPIRES: tokens.expires_in,
      APP_OPTIONS: {},
      USER_OPTIONS: {},
      PLACEMENT: placement,
      PLACEMENT_OPTIONS: placementOptions,
      INSTALL: false,
      FIRST_RUN: false,
    },
  }
  const inputs = Object.entries(form)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('')
  const who = user ? `${user.NAME} ${user.LAST_NAME}${user.ADMIN ? ' (administrator)' : ''}` : `user #${userId}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Leads · Bitrix24 (emulated)</title>
<style>
  * { box-sizing: border-box; }
  body { margin: 0; font: 13px/1.4 "Open Sans", system-ui, Arial, sans-serif; color: #333; background: #2d3845; }
  .top { height: 44px; display: flex; align-items: center; gap: 16px; padding: 0 16px; background: #22303c; color: #fff; }
  .top b { font-size: 16px; letter-spacing: .02em; } .top b span { color: #2fc6f6; }
  .top .who { margin-left: auto; color: #b9c3cc; }
  .layout { display: flex; align-items: flex-start; min-height: calc(100vh - 44px); }
  .crm { flex: 1 1 auto; min-width: 260px; padding: 14px 16px; color: #dfe5ea; }
  .crm h1 { font-size: 18px; font-weight: 400; margin: 4px 0 12px; color: #fff; }
  .crm .fake { height: 26px; margin: 6px 0; border-radius: 4px; background: rgba(255,255,255,.08); }
  .proto { margin-top: 18px; background: #fff; color: #333; border-radius: 8px; padding: 10px 12px; max-height: 70vh; overflow: auto; }
  .proto h2 { font-size: 13px; margin: 0 0 6px; } .proto ol { margin: 0; padding-left: 18px; font: 11px/1.5 ui-monospace, Menlo, Consolas, monospace; }
  .proto li { overflow-wrap: anywhere; }
  .slider { flex: 0 0 ${width}px; width: ${width}px; background: #eef2f4; box-shadow: -6px 0 18px rgba(0,0,0,.35); min-height: calc(100vh - 44px); position: relative; }
  .slider__head { display: flex; align-items: center; gap: 10px; padding: 14px 18px 10px; }
  .slider__head h2 { font-size: 22px; font-weight: 300; margin: 0; flex: 1; }
  .slider__close { position: absolute; left: -38px; top: 12px; width: 32px; height: 32px; border-radius: 16px 0 0 16px; background: #2fc6f6; color: #fff; border: 0; font-size: 16px; }
  .slider__body { margin: 0 12px 12px; background: #fff; border-radius: 8px; overflow: hidden; }
  #b24-app-frame { display: block; width: 100%; height: 600px; border: 0; }
  .overlay { position: fixed; inset: 0; background: rgba(0,0,0,.45); display: flex; justify-content: flex-end; z-index: 10; }
  .overlay[hidden] { display: none; }
  .overlay__panel { width: min(900px, 90vw); background: #eef2f4; height: 100%; display: flex; flex-direction: column; }
  .overlay__panel header { display: flex; justify-content: space-between; align-items: center; padding: 10px 14px; }
  .overlay__panel iframe { flex: 1; border: 0; background: #fff; margin: 0 12px 12px; border-radius: 8px; }
  .dialog { background: #fff; margin: auto; border-radius: 8px; padding: 14px 16px; min-width: 280px; }
  .dialog ul { list-style: none; margin: 8px 0; padding: 0; } .dialog li button { width: 100%; text-align: left; padding: 6px 8px; margin: 2px 0; border: 1px solid #dfe3e6; background: #fff; border-radius: 4px; cursor: pointer; }
  button.b24 { background: #fff; border: 1px solid #c6cdd3; border-radius: 4px; padding: 4px 10px; cursor: pointer; }
</style>
</head>
<body>
<div class="top"><b>Bitrix<span>24</span></b><span>emulated portal · member_id ${esc(portal.memberId)}</span><span class="who">${esc(who)} · LANG ${esc(lang)}</span></div>
<div class="layout">
  <div class="crm">
    <h1>CRM · Leads</h1>
    <div class="fake"></div><div class="fake"></div><div class="fake"></div><div class="fake"></div>
    <section class="proto" aria-labelledby="proto-h">
      <h2 id="proto-h">Frame protocol (commands from the app)</h2>
      <ol id="b24-log"></ol>
    </section>
  </div>
  <div class="slider" role="dialog" aria-labelledby="b24-title">
    <button type="button" class="slider__close" title="Close" aria-label="Close">×</button>
    <div class="slider__head"><h2 id="b24-title">${esc(placement)}</h2></div>
    <div class="slider__body"><iframe id="b24-app-frame" name="${esc(frameName)}" title="Application" allow="clipboard-write"></iframe></div>
  </div>
</div>
<div class="overlay" id="b24-inner-slider" hidden>
  <div class="overlay__panel" role="dialog" aria-labelledby="b24-inner-title">
    <header><strong id="b24-inner-title">Bitrix24 slider</strong><button type="button" class="b24" id="b24-inner-close">Close</button></header>
    <iframe id="b24-inner-frame" title="Bitrix24 slider"></iframe>
  </div>
</div>
<div class="overlay" id="b24-user-dialog" hidden>
  <div class="dialog" role="dialog" aria-labelledby="b24-user-h">
    <strong id="b24-user-h">Select employee</strong>
    <ul id="b24-user-list"></ul>
    <button type="button" class="b24" id="b24-user-cancel">Cancel</button>
  </div>
</div>
<form id="b24-form" method="post" target="${esc(frameName)}" action="${esc(action)}">${inputs}</form>
<script>
(function () {
  'use strict'
  var CONF = ${scriptJson(conf)}
  var frame = document.getElementById('b24-app-frame')
  var logList = document.getElementById('b24-log')
  var appOptions = {}
  var userOptions = {}
  window.__b24Commands = []

  function record(command, params) {
    var entry = { command: command, params: params, at: Date.now() }
    window.__b24Commands.push(entry)
    var li = document.createElement('li')
    li.textContent = new Date(entry.at).toISOString().slice(11, 23) + ' ' + command + (params === null || params === '' ? '' : ' ' + JSON.stringify(params))
    logList.appendChild(li)
  }

  function reply(callback, result) {
    if (!callback) return
    frame.contentWindow.postMessage(result === undefined ? callback : callback + ':' + JSON.stringify(result), CONF.appOrigin)
  }

  /** "command:params:callback:appSid" (params may be missing or contain colons) or the object form. */
  function parse(data) {
    if (data && typeof data === 'object') return { command: String(data.method), params: data.params === undefined ? null : data.params, callback: data.callback, appSid: data.appSid }
    if (typeof data !== 'string') return null
    var parts = data.split(':')
    if (parts.length < 3) return null
    var appSid = parts.pop()
    var callback = parts.pop()
    var command = parts.shift()
    var raw = parts.join(':')
    var params = null
    if (raw) {
      try { params = JSON.parse(raw) } catch (e) { params = raw }
    }
    return { command: command, params: params, callback: callback, appSid: appSid }
  }

  var handlers = {
    getInitData: function (m) { reply(m.callback, CONF.initData) },
    resizeWindow: function (m) {
      var h = Number(m.params && m.params.height)
      if (h > 0) frame.style.height = Math.ceil(h) + 'px'
      var w = m.params && m.params.width
      frame.style.width = typeof w === 'number' && w > 0 ? w + 'px' : '100%'
      reply(m.callback)
    },
    setTitle: function (m) {
      var title = String((m.params && m.params.title) || '')
      document.getElementById('b24-title').textContent = title
      document.title = title + ' · Bitrix24 (emulated)'
      reply(m.callback)
    },
    setScroll: function (m) { window.scrollTo(0, Number(m.params && m.params.scroll) || 0); reply(m.callback) },
    openPath: function (m) { openInner(String((m.params && m.params.path) || '/'), m.callback) },
    openApplication: function (m) { reply(m.callback) },
    closeApplication: function (m) { document.querySelector('.slider').hidden = true; reply(m.callback) },
    reloadWindow: function (m) { reply(m.callback); document.getElementById('b24-form').submit() },
    selectUser: function (m) { pickUser(m.callback) },
    setAppOption: function (m) { if (m.params) appOptions[m.params.name] = m.params.value; reply(m.callback) },
    setUserOption: function (m) { if (m.params) userOptions[m.params.name] = m.params.value; reply(m.callback) },
    setInstall: function (m) { reply(m.callback) },
    setInstallFinish: function (m) { reply(m.callback) },
    refreshAuth: function (m) {
      fetch(CONF.refreshPath, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: CONF.refreshKey, user: CONF.userId }) })
        .then(function (r) { return r.json() })
        .then(function (auth) { reply(m.callback, auth) })
    },
  }

  var innerCallback = null
  function openInner(path, callback) {
    innerCallback = callback
    var url = new URL(path, location.origin)
    document.getElementById('b24-inner-title').textContent = url.pathname
    document.getElementById('b24-inner-frame').src = url.pathname + url.search
    document.getElementById('b24-inner-slider').hidden = false
    document.getElementById('b24-inner-close').focus()
  }
  document.getElementById('b24-inner-close').addEventListener('click', function () {
    document.getElementById('b24-inner-slider').hidden = true
    document.getElementById('b24-inner-frame').removeAttribute('src')
    reply(innerCallback, { result: 'close' })
    innerCallback = null
  })

  var userCallback = null
  function pickUser(callback) {
    userCallback = callback
    var list = document.getElementById('b24-user-list')
    while (list.firstChild) list.removeChild(list.firstChild)
    CONF.users.forEach(function (u) {
      var li = document.createElement('li')
      var b = document.createElement('button')
      b.type = 'button'
      b.textContent = u.name + ' (#' + u.id + ')'
      b.addEventListener('click', function () { closeUser({ id: String(u.id), name: u.name }) })
      li.appendChild(b)
      list.appendChild(li)
    })
    document.getElementById('b24-user-dialog').hidden = false
    var first = list.querySelector('button')
    if (first) first.focus()
  }
  function closeUser(result) {
    document.getElementById('b24-user-dialog').hidden = true
    reply(userCallback, result)
    userCallback = null
  }
  document.getElementById('b24-user-cancel').addEventListener('click', function () { closeUser(null) })

  window.addEventListener('message', function (ev) {
    if (ev.source !== frame.contentWindow || ev.origin !== CONF.appOrigin) return
    var m = parse(ev.data)
    if (!m || m.appSid !== CONF.appSid) return
    record(m.command, m.params)
    var h = handlers[m.command]
    if (h) h(m)
    else reply(m.callback)
  })
  document.querySelector('.slider__close').addEventListener('click', function () { document.querySelector('.slider').hidden = true })
  document.getElementById('b24-form').submit()
})()
</script>
</body>
</html>`
}

/** A bare lead card, standing in for Bitrix24's /crm/lead/details/<id>/ in the slider. */
function leadCard(portal: Portal, id: number): string {
  const lead = portal.leads.get(id)
  const rows = lead
    ? Object.entries(lead)
        .map(
          ([k, v]) =>
            `<tr><th>${esc(k)}</th><td>${esc(typeof v === 'object' ? JSON.stringify(v) : String(v))}</td></tr>`,
        )
        .join('')
    : `<tr><td>No lead #${id} on this portal.</td></tr>`
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Lead #${id}</title>
<style>body{font:13px/1.4 "Open Sans",system-ui,Arial,sans-serif;margin:16px;color:#333}h1{font-size:20px;font-weight:400}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:4px 8px;border-bottom:1px solid #eef0f1}th{color:#828b95;font-weight:400;width:30%}</style>
</head><body><h1 id="lead-title">${esc(lead ? String(lead['TITLE'] ?? `Lead #${id}`) : `Lead #${id}`)}</h1><table>${rows}</table></body></html>`
}
