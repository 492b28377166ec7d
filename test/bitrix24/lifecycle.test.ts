/**
 * The app's side of the lifecycle against an emulator whose events can be lost: the install POST
 * carries APPLICATION_TOKEN (verified there by the OAuth exchange), so a lost ONAPPINSTALL
 * (events are queued and never retried) leaves nothing broken.
 * @see settings/oauth/simple-way.md, events/index.md
 */
import t from 'tap'
import { startApp, startEmulator } from '../helpers.js'

t.test('ONAPPINSTALL lost: later events from the portal are still accepted, forged ones refused', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = emu.createPortal()
  emu.faults.events.loseNext = 1
  const reply = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  t.equal(reply.status, 200)
  t.match(emu.deliveries.filter((d) => d.event === 'ONAPPINSTALL'), [{ status: 0, fault: 'lost' }], 'ONAPPINSTALL never reached the app')
  t.equal((await app.portals.find(portal.memberId))!.application_token, portal.applicationToken, 'taken from the install POST')

  const ok = await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 7 } })
  t.same(ok.map((r) => r.status), [200])
  const forged = await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 8 } }, { applicationToken: 'forged', url: `${url}/bitrix24/events` })
  t.equal(forged[0]!.status, 401)
  const rows = await app.db.selectFrom('portal_events').selectAll().execute()
  t.same(rows.map((r) => JSON.parse(r.payload)), [{ FIELDS: { ID: '7' } }], 'only the genuine event was recorded')
})

t.test('an install POST with a refresh token the OAuth server refuses stores no application_token', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const res = await fetch(`${url}/bitrix24/install`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ AUTH_ID: 'x', REFRESH_ID: 'not-a-refresh-token', member_id: 'victim', APPLICATION_TOKEN: 'attacker' }).toString(),
  })
  t.not(res.status, 200)
  t.equal(await app.portals.find('victim'), undefined)
})

t.test('a late ONAPPINSTALL after the install POST is accepted and changes nothing', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = emu.createPortal()
  emu.faults.events.delayMs = 100
  await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  t.match(emu.deliveries.filter((d) => d.event === 'ONAPPINSTALL'), [{ status: 200 }])
  t.equal((await app.portals.find(portal.memberId))!.application_token, portal.applicationToken)
})

t.test('after an app update the new application_token is taken, handlers rebound, later events accepted', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = emu.createPortal()
  await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  const replies = await emu.updateApp(portal, { version: '2' })
  t.same(replies.map((r) => r.status), [200], 'ONAPPUPDATE accepted')
  t.equal((await app.portals.find(portal.memberId))!.application_token, portal.applicationToken, 'the new token stored')
  t.ok(portal.events.some((b) => b.event === 'ONCRMLEADUPDATE'), 'events rebound')
  t.ok(portal.events.some((b) => b.event === 'ONAPPUPDATE'), 'ONAPPUPDATE rebound for the next update')
  t.ok(portal.placements.length > 0, 'placements rebound')
  const ok = await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 9 } })
  t.same(ok.map((r) => r.status), [200])
  t.equal((await emu.updateApp(portal, { version: '3' }))[0]!.status, 200, 'a second update works too')
})

t.test('a forged ONAPPUPDATE changes nothing', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = emu.createPortal()
  await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  const before = await app.portals.find(portal.memberId)
  const res = await fetch(`${url}/bitrix24/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ event: 'ONAPPUPDATE', 'data[VERSION]': '2', 'auth[member_id]': portal.memberId, 'auth[application_token]': 'attacker', 'auth[access_token]': 'not-a-token', 'auth[client_endpoint]': 'http://evil.example/rest/' }).toString(),
  })
  t.equal(res.status, 401)
  t.same(await app.portals.find(portal.memberId), before)
  t.same((await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 1 } })).map((r) => r.status), [200], 'the real token still works')
})

t.test('a PUBLIC_URL Bitrix24 refuses: the install page says plainly what PUBLIC_URL must be', async (t) => {
  const emu = await startEmulator(t)
  const { url } = await startApp(t, { emu, config: { PUBLIC_URL: 'http://localhost:3000' } })
  const portal = emu.createPortal()
  const reply = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  t.equal(reply.status, 200)
  t.match(reply.body, /id="public-url-problem"/)
  t.match(reply.body, /http:\/\/localhost:3000/)
  t.match(reply.body, /PUBLIC_URL must be a public https URL with a domain/)
  t.same(portal.placements, [], 'nothing bound')
})

t.test('a reachable handler address (127.0.0.1, the public host of the tests) binds without that warning', async (t) => {
  const emu = await startEmulator(t)
  const { url } = await startApp(t, { emu })
  const portal = emu.createPortal()
  const reply = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  t.notMatch(reply.body, /public-url-problem/)
  t.ok(portal.placements.length > 0)
})
