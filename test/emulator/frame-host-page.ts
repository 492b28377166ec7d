/**
 * The frame host's pages: the slider page that frames the app (frame-host.html, read once, its
 * holes filled per request) and a bare lead card. The page's script answers b24jssdk's
 * postMessage protocol (see frame-host.ts); CONF carries what it needs, init data included.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { FrameHostOptions } from './frame-host.js'
import type { Portal } from './types/emulator.js'

/** The page without its final newline, as the template literal it came from was. */
const PAGE = readFileSync(new URL('./frame-host.html', import.meta.url), 'utf8').replace(/\n$/, '')

function esc(s: unknown): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  )
}

/**
 * Fills `{{name}}` holes with the HTML-escaped value and `{{{name}}}` holes with the value as
 * given (HTML already). A hole without a value is a bug in the caller: it throws.
 */
export function fillTemplate(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}/g, (_hole, raw?: string, text?: string) => {
    const name = raw ?? text ?? ''
    const value = values[name]
    if (value === undefined) throw new Error(`frame host: no value for the hole ${name}`)
    return raw === undefined ? esc(value) : String(value)
  })
}

export function hostPage(
  opts: FrameHostOptions,
  origin: string,
  query: URLSearchParams,
  refresh: { key: string; path: string },
): string {
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
    refreshKey: refresh.key,
    refreshPath: refresh.path,
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
  return fillTemplate(PAGE, {
    width,
    memberId: portal.memberId,
    who,
    lang,
    placement,
    frameName,
    action,
    conf: JSON.stringify(conf),
    inputs,
  })
}

/** A bare lead card, standing in for Bitrix24's /crm/lead/details/<id>/ in the slider. */
export function leadCard(portal: Portal, id: number): string {
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
