import t from 'tap'
import { installedPortal, rejection, phpForm, startApp, startEmulator } from '../helpers.js'

t.test('an event with the wrong application_token gets 401 and changes nothing', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const before = await app.portals.find(portal.memberId)
  const replies = await emu.deliverEvent(
    portal,
    'ONAPPUNINSTALL',
    { CLEAN: 1 },
    { applicationToken: 'forged', url: `${url}/bitrix24/events` },
  )
  t.equal(replies[0]!.status, 401)
  t.match(JSON.parse(replies[0]!.body), { error: 'APP_ERR_BAD_APPLICATION_TOKEN' })
  t.same(await app.portals.find(portal.memberId), before)
})

t.test('an event from an unknown member_id is refused', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const res = await fetch(`${url}/bitrix24/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: phpForm({
      event: 'ONAPPINSTALL',
      data: { VERSION: 1 },
      auth: { member_id: 'nobody', application_token: 'x', access_token: 'y', domain: 'x.bitrix24.com' },
    }),
  })
  t.equal(res.status, 401)
  t.match(
    await res.json(),
    { error: 'APP_ERR_BAD_APPLICATION_TOKEN' },
    'the same answer as a wrong token: installed member ids are not revealed',
  )
  t.same(await app.portals.list(), [])
})

t.test('ONAPPINSTALL with a token that does not work on the portal cannot set the application_token', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  // As after a re-install, before the real ONAPPINSTALL arrives: no token stored yet.
  await app.db.updateTable('portals').set({ application_token: null }).execute()
  const res = await fetch(`${url}/bitrix24/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: phpForm({
      event: 'ONAPPINSTALL',
      data: {},
      auth: { member_id: portal.memberId, application_token: 'attacker', access_token: 'not-a-token' },
    }),
  })
  t.equal(res.status, 401)
  t.equal((await app.portals.find(portal.memberId))!.application_token, null)
})

t.test('uninstall without CLEAN drops tokens and keeps the data', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const replies = await emu.uninstallApp(portal, { clean: false })
  t.ok(replies.length >= 1)
  t.equal(replies[0]!.status, 200)
  const row = await app.portals.find(portal.memberId)
  t.equal(row!.state, 'uninstalled')
  t.equal(row!.access_token, null)
  t.equal(row!.refresh_token, null)
  t.equal(row!.application_token, null)
  t.ok(await app.settings.find(portal.memberId), 'settings kept')
  t.equal((await rejection(app.b24.forPortal(portal.memberId).call('app.info'))).kind, 'not_installed')
})

t.test('uninstall with CLEAN purges everything of the portal', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const other = await installedPortal(emu, url)
  await emu.uninstallApp(portal, { clean: true })
  t.equal(await app.portals.find(portal.memberId), undefined)
  t.equal(await app.settings.find(portal.memberId), undefined)
  t.ok(await app.portals.find(other.memberId), 'other portals untouched')
})

t.test('a lead event is recorded without its auth block', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const replies = await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 42 } })
  t.equal(replies[0]!.status, 200)
  const rows = await app.db.selectFrom('portal_events').selectAll().execute()
  t.equal(rows.length, 1)
  t.equal(rows[0]!.event, 'ONCRMLEADUPDATE')
  t.same(JSON.parse(rows[0]!.payload), { FIELDS: { ID: '42' } })
  t.notMatch(rows[0]!.payload, portal.applicationToken!)
})
