/**
 * The app lifecycle as Bitrix24 drives it, and the official SDK against the emulator (one file
 * for both keeps the suite fast: tap runs each file in its own process).
 * - Lifecycle, seen from a stand-in app: the install POST (fields and query), ONAPPINSTALL with
 *   the application_token to the handler bound during install, events only after installFinish,
 *   placement POSTs, forged tokens, uninstall, and the duplicate-bind and permission rules of
 *   event.bind / placement.bind.
 *   @see settings/oauth/simple-way.md, api-reference/common/events/on-app-install.md,
 *   api-reference/common/events/on-app-uninstall.md, settings/app-installation/installation-finish.md
 * - @bitrix24/b24jssdk POSTs JSON with `auth` in the body to `client_endpoint + "/" + method`,
 *   batches with qs-encoded commands, and on 401 expired_token refreshes through
 *   `${server_endpoint without /rest/}/oauth/token/` and retries. If the emulator misread any of
 *   that, it shows here. @see node_modules/@bitrix24/b24jssdk/dist/esm/core/http/abstract-http.mjs
 */
import { B24OAuth } from '@bitrix24/b24jssdk'
import t from 'tap'
import type { Portal } from './index.js'
import { callJson, startEmulator, startReceiver, type Received } from './helpers.js'

// ---- lifecycle ---------------------------------------------------------------

/** What an app's install page does: bind its handlers with the AUTH_ID it was given. */
async function bindDuringInstall(r: Received, appUrl: string): Promise<void> {
  const rest = `http://${String(r.query['DOMAIN'])}/rest/`
  const auth = String(r.form['AUTH_ID'])
  const bind = (method: string, params: Record<string, unknown>) =>
    fetch(`${rest}${method}.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...params, auth }),
    }).then((res) => res.json())
  await bind('event.bind', { event: 'ONAPPINSTALL', handler: `${appUrl}/events` })
  await bind('event.bind', { event: 'ONAPPUNINSTALL', handler: `${appUrl}/events` })
  await bind('event.bind', { event: 'ONCRMLEADADD', handler: `${appUrl}/events` })
  await bind('placement.bind', { PLACEMENT: 'CRM_LEAD_DETAIL_TAB', HANDLER: `${appUrl}/tab`, TITLE: 'TikTok' })
}

t.test('install: the POST, the bindings made during it, ONAPPINSTALL', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal({ lang: 'vn' })
  let appUrl = ''
  const app = await startReceiver(t, async (r) => {
    if (r.path === '/install') await bindDuringInstall(r, appUrl)
    return { status: 200, body: 'installed' }
  })
  appUrl = app.url

  const reply = await emu.installApp(portal, { installUrl: `${app.url}/install` })
  t.same([reply.status, reply.body], [200, 'installed'])
  const install = app.requests.find((r) => r.path === '/install')
  t.ok(install)
  t.equal(install?.method, 'POST')
  t.match(install?.headers['content-type'], /application\/x-www-form-urlencoded/)
  t.match(install?.query, { DOMAIN: portal.domain, PROTOCOL: '0', LANG: 'vn', APP_SID: /^[0-9a-f]{32}$/ })
  t.match(install?.form, {
    AUTH_ID: /^[0-9a-f]{64,}$/,
    AUTH_EXPIRES: '3600',
    REFRESH_ID: /^[0-9a-f]{64,}$/,
    SERVER_ENDPOINT: portal.serverEndpoint,
    member_id: portal.memberId,
    status: 'L',
    PLACEMENT: 'DEFAULT',
    PLACEMENT_OPTIONS: '{}',
    APPLICATION_TOKEN: portal.applicationToken,
  })
  t.equal(`http://${portal.domain}/rest/`, portal.clientEndpoint, 'DOMAIN + PROTOCOL give the REST base')

  t.ok(portal.installed)
  t.match(portal.events, [{ event: 'ONAPPINSTALL' }, { event: 'ONAPPUNINSTALL' }, { event: 'ONCRMLEADADD' }])
  t.match(portal.placements, [{ PLACEMENT: 'CRM_LEAD_DETAIL_TAB', TITLE: 'TikTok' }])

  const installEvent = await app.waitFor((r) => r.form['event'] === 'ONAPPINSTALL')
  t.match(installEvent.form, {
    event: 'ONAPPINSTALL',
    event_handler_id: /^\d+$/,
    data: { VERSION: '1', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: 'vn' },
    ts: /^\d+$/,
    auth: {
      access_token: /^[0-9a-f]{64,}$/,
      refresh_token: /^[0-9a-f]{64,}$/,
      expires_in: '3600',
      scope: 'crm,placement,user_brief',
      domain: portal.domain,
      server_endpoint: portal.serverEndpoint,
      client_endpoint: portal.clientEndpoint,
      member_id: portal.memberId,
      user_id: '1',
      status: 'L',
      application_token: portal.applicationToken,
    },
  })
  t.match(
    installEvent.body,
    /auth%5Bapplication_token%5D=/,
    'nested keys arrive percent-encoded, as http_build_query writes them',
  )

  // The event's own tokens work against REST.
  const eventToken = String((installEvent.form['auth'] as Record<string, unknown>)['access_token'])
  t.equal((await callJson(portal, 'app.info', {}, eventToken)).body.result.INSTALLED, true)

  // CRM events now flow to the bound handler.
  await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'x' } }, eventToken)
  await emu.settled()
  const added = await app.waitFor((r) => r.form['event'] === 'ONCRMLEADADD')
  t.match(added.form, { data: { FIELDS: { ID: '1' } }, auth: { application_token: portal.applicationToken } })
  t.match(
    emu.deliveries.map((d) => d.kind),
    ['install', 'event', 'event'],
  )
})

t.test('ONAPPINSTALL falls back to eventHandlerUrl; nothing is sent before installFinish', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const app = await startReceiver(t)

  await emu.installApp(portal, {
    installUrl: `${app.url}/install`,
    eventHandlerUrl: `${app.url}/handler`,
    finish: false,
    userId: 2,
    status: 'F',
  })
  t.notOk(portal.installed)
  const { access_token } = portal.issueToken()
  t.equal((await callJson(portal, 'app.info', {}, access_token)).body.result.INSTALLED, false)
  t.same(await emu.deliverEvent(portal, 'ONCRMLEADADD', { FIELDS: { ID: 1 } }), [], 'no events while not installed')
  t.equal(app.requests.length, 1)

  const replies = await emu.finishInstall(portal)
  t.equal(replies.length, 1)
  const hit = await app.waitFor((r) => r.path === '/handler')
  t.match(hit.form, {
    event: 'ONAPPINSTALL',
    auth: { user_id: '2', status: 'F', application_token: portal.applicationToken },
  })
  t.equal(app.requests.find((r) => r.path === '/install')?.form['status'], 'F')
})

t.test('placements and forged events', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const app = await startReceiver(t)
  await emu.installApp(portal, { installUrl: `${app.url}/install` })

  const reply = await emu.openPlacement(portal, {
    url: `${app.url}/tab`,
    placement: 'CRM_LEAD_DETAIL_TAB',
    options: { ID: '42' },
    userId: 2,
  })
  t.equal(reply.status, 200)
  const tab = await app.waitFor((r) => r.path === '/tab')
  t.match(tab.form, { PLACEMENT: 'CRM_LEAD_DETAIL_TAB', PLACEMENT_OPTIONS: '{"ID":"42"}', member_id: portal.memberId })
  const profile = await callJson(portal, 'profile', {}, String(tab.form['AUTH_ID']))
  t.match(profile.body.result, { ID: '2', ADMIN: false }, "the placement token is the opening user's")

  const forged = await emu.deliverEvent(
    portal,
    'ONCRMLEADUPDATE',
    { FIELDS: { ID: 5 } },
    {
      url: `${app.url}/events`,
      applicationToken: 'forged',
    },
  )
  t.equal(forged.length, 1)
  const ev = await app.waitFor((r) => r.path === '/events')
  t.match(ev.form, { event: 'ONCRMLEADUPDATE', auth: { application_token: 'forged' } })
})

t.test('uninstall: tokens revoked, then ONAPPUNINSTALL without a token; bindings gone', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  let appUrl = ''
  const app = await startReceiver(t, async (r) => {
    if (r.path === '/install') await bindDuringInstall(r, appUrl)
  })
  appUrl = app.url
  await emu.installApp(portal, { installUrl: `${app.url}/install` })
  const applicationToken = portal.applicationToken
  const live = portal.issueToken()

  const replies = await emu.uninstallApp(portal, { clean: true })
  t.equal(replies.length, 1)
  const ev = await app.waitFor((r) => r.form['event'] === 'ONAPPUNINSTALL')
  t.same(ev.form['data'], { LANGUAGE_ID: 'en', CLEAN: '1' })
  t.same(ev.form['auth'], {
    domain: portal.domain,
    server_endpoint: portal.serverEndpoint,
    client_endpoint: portal.clientEndpoint,
    member_id: portal.memberId,
    application_token: applicationToken,
  })
  t.notOk(portal.installed)
  t.same([portal.events, portal.placements, portal.applicationToken], [[], [], null])
  t.match(await callJson(portal, 'profile', {}, live.access_token), { status: 401, body: { error: 'invalid_token' } })
  const refresh = await fetch(
    `${emu.oauthUrl}/oauth/token/?grant_type=refresh_token&client_id=local.test.app&client_secret=test-secret&refresh_token=${live.refresh_token}`,
  )
  t.match(await refresh.json(), { error: 'invalid_client' }, 'the app is not installed any more')
})

t.test('event.bind and placement.bind rules', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const admin = portal.issueToken(1).access_token
  const user = portal.issueToken(2).access_token
  const h = 'https://app.example.test/events'

  t.equal((await callJson(portal, 'event.bind', { event: 'onCrmLeadAdd', handler: h }, admin)).body.result, true)
  t.match(await callJson(portal, 'event.bind', { event: 'ONCRMLEADADD', handler: h }, admin), {
    status: 400,
    body: { error: 'ERROR_CORE', error_description: /Handler already binded/ },
  })
  t.match(await callJson(portal, 'event.bind', { event: 'ONNOTHING', handler: h }, admin), {
    status: 400,
    body: { error: 'ERROR_EVENT_NOT_FOUND' },
  })
  t.match(await callJson(portal, 'event.bind', { event: 'ONCRMLEADUPDATE', handler: h, event_type: 'offline' }, user), {
    status: 403,
    body: { error: 'ACCESS_DENIED' },
  })
  t.same((await callJson(portal, 'event.get', {}, admin)).body.result, [
    { event: 'ONCRMLEADADD', handler: h, auth_type: '0', offline: 0 },
  ])
  t.same((await callJson(portal, 'event.unbind', { event: 'ONCRMLEADADD', handler: h }, admin)).body.result, {
    count: 1,
  })

  const tab = { PLACEMENT: 'CRM_LEAD_DETAIL_TAB', HANDLER: 'https://app.example.test/tab', TITLE: 'Tab' }
  t.match(await callJson(portal, 'placement.bind', tab, user), { status: 403, body: { error: 'ACCESS_DENIED' } })
  t.equal((await callJson(portal, 'placement.bind', tab, admin)).body.result, true)
  t.match(await callJson(portal, 'placement.bind', tab, admin), {
    status: 400,
    body: { error: 'ERROR_CORE', error_description: /Handler already binded/ },
  })
  t.match(await callJson(portal, 'placement.bind', { ...tab, PLACEMENT: 'CRM_LEAD_NOWHERE' }, admin), {
    status: 400,
    body: { error: 'ERROR_PLACEMENT_NOT_FOUND' },
  })
  t.match(await callJson(portal, 'placement.bind', { HANDLER: tab.HANDLER }, admin), {
    status: 400,
    body: { error: 'ERROR_ARGUMENT', argument: 'PLACEMENT' },
  })
  t.match((await callJson(portal, 'placement.get', {}, admin)).body.result, [
    { placement: 'CRM_LEAD_DETAIL_TAB', handler: tab.HANDLER, title: 'Tab', userId: 0 },
  ])
  t.same((await callJson(portal, 'placement.unbind', { PLACEMENT: 'CRM_LEAD_DETAIL_TAB' }, admin)).body.result, {
    count: 2,
  })
})

// ---- sdk ---------------------------------------------------------------------

function sdkFor(portal: Portal, tokens: { access_token: string; refresh_token: string; expires: number }) {
  return new B24OAuth(
    {
      applicationToken: '',
      userId: 1,
      memberId: portal.memberId,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expires: tokens.expires,
      expiresIn: 3600,
      scope: 'crm,placement,user_brief',
      domain: portal.domain,
      clientEndpoint: portal.clientEndpoint,
      serverEndpoint: portal.serverEndpoint,
      status: 'L',
    },
    { clientId: 'local.test.app', clientSecret: 'test-secret' },
  )
}

t.test('b24jssdk: call, list, batch', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const b24 = sdkFor(portal, portal.issueToken())

  const added = await b24.actions.v2.call.make<number>({
    method: 'crm.lead.add',
    params: { fields: { TITLE: 'via sdk', PHONE: [{ VALUE: '+84912345678', VALUE_TYPE: 'MOBILE' }] } },
  })
  t.ok(added.isSuccess)
  t.equal(added.getData()?.result, 1)
  t.match(portal.leads.get(1), { TITLE: 'via sdk', PHONE: [{ VALUE: '+84912345678' }] })

  const batch = await b24.actions.v2.batch.make({
    calls: {
      lead_a: { method: 'crm.lead.add', params: { fields: { TITLE: 'a', ORIGIN_ID: 'x-1' } } },
      lead_b: { method: 'crm.lead.add', params: { fields: { TITLE: 'b', SOURCE_ID: 'NOPE' } } },
      list: { method: 'crm.lead.list', params: { filter: { ORIGIN_ID: ['x-1'] }, select: ['ID'] } },
      typo: { method: 'crm.lead.ad', params: {} },
    },
    options: { isHaltOnError: false, returnAjaxResult: true },
  })
  const data = batch.getData() as Record<string, { getData(): { result: unknown } | undefined; isSuccess: boolean }>
  t.equal(data['lead_a']?.getData()?.result, 2)
  t.same(data['list']?.getData()?.result, [{ ID: '2' }])
  t.equal(data['typo']?.isSuccess, false, 'a failing command fails alone')
  t.equal(portal.leads.size, 2, 'lead_b was refused')
  // Pitfall pinned here on purpose: CRM field errors carry an empty `error` code, and b24jssdk's
  // parseErrorPayload ignores an empty code, so in a batch such a command looks successful with
  // no result. The app has to treat "success without a result" as a failure (or read
  // result_error itself). @see node_modules/@bitrix24/b24jssdk/dist/esm/core/http/parse-error-payload.mjs
  t.equal(data['lead_b']?.isSuccess, true)
  t.equal(data['lead_b']?.getData()?.result, undefined)
})

t.test('b24jssdk refreshes on expired_token through the emulator OAuth server', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const tokens = portal.issueToken()
  const b24 = sdkFor(portal, tokens)
  const saved: string[] = []
  b24.setCallbackRefreshAuth(async ({ authData }) => {
    if (authData) saved.push(authData.refresh_token)
  })

  emu.faults.expireAllTokens()
  const profile = await b24.actions.v2.call.make<{ ID: string }>({ method: 'profile', params: {} })
  t.ok(profile.isSuccess)
  t.equal(profile.getData()?.result.ID, '1')
  t.equal(emu.counters.refreshes, 1)
  t.match(emu.oauthCalls, [{ httpMethod: 'POST', grantType: 'refresh_token', status: 200 }])
  t.equal(saved.length, 1, 'the SDK handed the new tokens to the app')
  t.not(saved[0], tokens.refresh_token)
  t.match(
    emu.calls.map((c) => [c.method, c.status, c.error]),
    [
      ['profile', 401, 'expired_token'],
      ['profile', 200, undefined],
    ],
  )
})
