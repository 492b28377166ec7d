import t from 'tap'
import { manifest } from '../../manifest/app.js'
import { installedPortal, startApp, startEmulator } from '../helpers.js'

/** The placements bound on a classic-mode portal (the emulator's default): simple-mode ones are not. */
const classic = manifest.placements.filter((p) => (p.modes as readonly number[]).includes(1))
const classicOffline = manifest.offlineEvents
  .filter((e) => (e.modes as readonly number[]).includes(1))
  .map((e) => e.event)

t.test('install stores the portal from the OAuth answer and binds placements and events in one batch', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = emu.createPortal({ lang: 'ru' })
  const reply = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  t.equal(reply.status, 200)
  t.match(reply.headers['content-type'], /text\/html/)
  t.match(reply.body, /installFinish/)
  t.match(reply.body, /Приложение установлено/, 'page speaks the portal language')

  const row = await app.portals.find(portal.memberId)
  t.ok(row, 'portal stored')
  t.equal(row!.client_endpoint, portal.clientEndpoint, 'REST endpoint comes from the OAuth server answer')
  t.equal(row!.domain, portal.domain)
  t.equal(row!.state, 'active')
  t.ok(row!.access_token && row!.refresh_token, 'tokens stored')
  t.ok(row!.expires_at > Date.now() / 1000, 'expiry stored')
  t.equal(row!.application_token, portal.applicationToken, 'ONAPPINSTALL application_token stored')
  t.ok(await app.settings.find(portal.memberId), 'webhook settings created')

  t.same(portal.placements.map((p) => p.PLACEMENT).sort(), classic.map((p) => p.code).sort())
  t.equal(portal.placements[0]!.HANDLER, `${url}/bitrix24/placement`)
  const online = portal.events.filter((e) => e.event_type !== 'offline')
  t.same(online.map((e) => e.event).sort(), [...manifest.events].sort())
  t.ok(online.every((e) => e.handler === `${url}/bitrix24/events`))
  t.same(
    portal.events
      .filter((e) => e.event_type === 'offline')
      .map((e) => e.event)
      .sort(),
    [...classicOffline].sort(),
    'and the classic-mode offline ones',
  )
  const topLevel = emu.calls.filter((c) => c.memberId === portal.memberId && !c.inBatch)
  t.equal(topLevel.filter((c) => c.method === 'batch').length, 1, 'one batch call')
  t.notOk(
    topLevel.some((c) => /\.(bind|unbind)$/.test(c.method)),
    'no binding outside the batch',
  )
  const inBatch = emu.calls.filter((c) => c.memberId === portal.memberId && c.inBatch).map((c) => c.method)
  t.equal(inBatch.filter((m) => m === 'placement.bind').length, classic.length)
  t.equal(inBatch.filter((m) => m === 'event.bind').length, manifest.events.length + classicOffline.length)
})

t.test('re-install is idempotent: one binding each, same portal row, new application_token accepted', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const first = await app.portals.find(portal.memberId)
  const settings = await app.settings.find(portal.memberId)
  const again = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  t.equal(again.status, 200)
  t.equal(portal.placements.length, classic.length)
  t.equal(portal.events.length, manifest.events.length + classicOffline.length)
  const second = await app.portals.find(portal.memberId)
  t.equal(second!.installed_at, first!.installed_at, 'same row')
  t.equal(second!.application_token, portal.applicationToken)
  t.same(await app.settings.find(portal.memberId), settings, 'webhook key and secret survive a re-install')
})

t.test(
  'an install POST whose refresh token the OAuth server does not know is refused and stores nothing',
  async (t) => {
    const emu = await startEmulator(t)
    const { app, url } = await startApp(t, { emu })
    const res = await fetch(`${url}/bitrix24/install?DOMAIN=evil.example&PROTOCOL=1&LANG=en`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        AUTH_ID: 'forged',
        AUTH_EXPIRES: '3600',
        REFRESH_ID: 'forged-refresh',
        member_id: 'victim',
        SERVER_ENDPOINT: 'http://evil.example/rest/',
      }),
    })
    t.equal(res.status, 401)
    t.match(await res.json(), { error: 'APP_ERR_INSTALL_NOT_VERIFIED' })
    t.equal(await app.portals.find('victim'), undefined)
  },
)

t.test('a forged DOMAIN on a real install cannot move the REST endpoint', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const tokens = portal.issueToken(1)
  const res = await fetch(`${url}/bitrix24/install?DOMAIN=attacker.example&PROTOCOL=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      AUTH_ID: tokens.access_token,
      REFRESH_ID: tokens.refresh_token,
      member_id: portal.memberId,
      SERVER_ENDPOINT: 'http://attacker.example/rest/',
    }),
  })
  t.equal(res.status, 200)
  const row = await app.portals.find(portal.memberId)
  t.equal(row!.client_endpoint, portal.clientEndpoint)
  t.equal(row!.server_endpoint, portal.serverEndpoint)
})

t.test('install without marketplace credentials answers 503 and stores nothing', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu, config: { B24_CLIENT_ID: undefined, B24_CLIENT_SECRET: undefined } })
  const portal = emu.createPortal()
  const reply = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  t.equal(reply.status, 503)
  t.match(JSON.parse(reply.body), { error: 'APP_ERR_NOT_CONFIGURED' })
  t.equal(await app.portals.find(portal.memberId), undefined)
})
