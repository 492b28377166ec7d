/**
 * Event delivery faults: events are queued on the portal, may be late or out of order, and one
 * that does not arrive is never retried. The install POST carries APPLICATION_TOKEN, so an app
 * does not depend on ONAPPINSTALL arriving.
 * @see events/index.md, settings/oauth/simple-way.md, api-reference/common/events/on-app-install.md
 */
import t from 'tap'
import { callJson, startEmulator, startReceiver } from './helpers.js'

async function installed(t: Parameters<typeof startEmulator>[0]) {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const app = await startReceiver(t, async () => ({ status: 200, body: 'ok' }))
  await emu.installApp(portal, { installUrl: `${app.url}/install`, eventHandlerUrl: `${app.url}/events` })
  portal.events.push({ event: 'ONCRMLEADUPDATE', handler: `${app.url}/events`, event_type: 'online', auth_type: 0 })
  return { emu, portal, app }
}

t.test('the install POST carries the APPLICATION_TOKEN that ONAPPINSTALL later brings', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const app = await startReceiver(t, async () => ({ status: 200, body: 'ok' }))
  emu.faults.events.loseNext = 1
  await emu.installApp(portal, { installUrl: `${app.url}/install`, eventHandlerUrl: `${app.url}/events` })
  const install = app.requests.find((r) => r.path === '/install')
  t.match(install?.form, { APPLICATION_TOKEN: /^[0-9a-f]{32}$/ })
  t.equal(install?.form['APPLICATION_TOKEN'], portal.applicationToken)
  t.equal(app.requests.filter((r) => r.path === '/events').length, 0, 'ONAPPINSTALL was lost')
  t.match(emu.deliveries.at(-1), { event: 'ONAPPINSTALL', status: 0, fault: 'lost' })
  t.ok(portal.installed, 'the install still finished')
})

t.test('loseNext drops exactly that many events, never retried', async (t) => {
  const { emu, portal, app } = await installed(t)
  const before = app.requests.length
  emu.faults.events.loseNext = 2
  const replies = [
    ...(await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 1 } })),
    ...(await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 2 } })),
    ...(await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 3 } })),
  ]
  t.same(
    replies.map((r) => r.status),
    [0, 0, 200],
  )
  await emu.settled()
  const got = app.requests.slice(before).map((r) => (r.form['data'] as { FIELDS: { ID: string } }).FIELDS.ID)
  t.same(got, ['3'])
  t.equal(emu.faults.events.loseNext, 0)
})

t.test('delayMs holds each event back; reorder swaps an event with the next one', async (t) => {
  const { emu, portal, app } = await installed(t)
  const before = app.requests.length
  emu.faults.events.delayMs = 50
  const started = Date.now()
  await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 1 } })
  t.ok(Date.now() - started >= 45, 'not sent before the delay')
  emu.faults.events.delayMs = 0
  emu.faults.events.reorder = true
  await Promise.all([
    emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 2 } }),
    emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 3 } }),
  ])
  const got = app.requests.slice(before).map((r) => (r.form['data'] as { FIELDS: { ID: string } }).FIELDS.ID)
  t.same(got, ['1', '3', '2'])
  emu.faults.clear()
  t.same(emu.faults.events, { loseNext: 0, delayMs: 0, reorder: false })
})

t.test('updateApp: a new application_token, old bindings gone, ONAPPUPDATE to its handler', async (t) => {
  const { emu, portal, app } = await installed(t)
  portal.events.push({ event: 'ONAPPUPDATE', handler: `${app.url}/events`, event_type: 'online', auth_type: 0 })
  const oldToken = portal.applicationToken
  const replies = await emu.updateApp(portal, { version: '2' })
  t.same(
    replies.map((r) => r.status),
    [200],
  )
  t.not(portal.applicationToken, oldToken)
  t.same(portal.events, [], 'handlers bound by the old version are gone')
  const evt = app.requests.at(-1)!
  t.match(evt.form, {
    event: 'ONAPPUPDATE',
    data: { VERSION: '2', PREVIOUS_VERSION: '1' },
    auth: { application_token: portal.applicationToken },
  })
  t.same(await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 1 } }), [], 'nothing bound: nothing sent')
})

t.test('placement.bind / event.bind refuse handlers without a public domain (ERROR_WRONG_HANDLER_URL)', async (t) => {
  // @see api-reference/widgets/index.md: "URLs without a domain, including localhost, do not pass the check"
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken(1)
  for (const handler of ['http://localhost:3000/h', 'https://app.localhost/h', 'http://myserver/h', 'not a url']) {
    t.match(
      await callJson(portal, 'event.bind', { event: 'ONCRMLEADADD', handler }, access_token),
      { status: 400, body: { error: 'ERROR_WRONG_HANDLER_URL' } },
      `event.bind ${handler}`,
    )
    t.match(
      await callJson(
        portal,
        'placement.bind',
        { PLACEMENT: 'CRM_LEAD_LIST_MENU', HANDLER: handler, TITLE: 'x' },
        access_token,
      ),
      { status: 400, body: { error: 'ERROR_WRONG_HANDLER_URL' } },
      `placement.bind ${handler}`,
    )
  }
  t.match(
    await callJson(portal, 'event.bind', { event: 'ONCRMLEADADD', handler: 'ftp://app.example.com/h' }, access_token),
    { body: { error: 'ERROR_UNSUPPORTED_PROTOCOL' } },
  )
  t.same(portal.events, [])
  t.same(portal.placements, [])
  // 127.0.0.1: the tests' stand-in for a public host. A domain passes too.
  t.match(
    await callJson(portal, 'event.bind', { event: 'ONCRMLEADADD', handler: 'http://127.0.0.1:9/h' }, access_token),
    { status: 200 },
  )
  t.match(
    await callJson(
      portal,
      'placement.bind',
      { PLACEMENT: 'CRM_LEAD_LIST_MENU', HANDLER: 'https://app.example.com/p', TITLE: 'x' },
      access_token,
    ),
    { status: 200 },
  )
})
