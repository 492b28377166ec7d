/**
 * The first ONAPPINSTALL brings the application_token every later event is checked against. It
 * was accepted for any access token `app.info` accepted, at any time: a token of another app on
 * the portal (or a later replay when no token was stored) could set it. Now app.info must name
 * this app (CODE = our client id / application code), and only within 10 minutes of the install POST.
 * (Since the install POST's own APPLICATION_TOKEN is taken, this path is for installs without it.)
 */
import { createServer } from 'node:http'
import t from 'tap'
import { installedPortal, startApp, startEmulator } from '../helpers.js'

t.test('app.info naming another app does not set the application_token', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = emu.createPortal()
  const reply = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install`, finish: false })
  t.equal(reply.status, 200)
  // A REST endpoint where every token works but app.info names some other application.
  const other = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ result: { ID: 7, CODE: 'local.someone.else', VERSION: 1, STATUS: 'L', INSTALLED: true } }))
  })
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r))
  t.teardown(() => other.close())
  const stored = (await app.portals.find(portal.memberId))!
  // The install POST carries APPLICATION_TOKEN and the app takes it there; this case is an install
  // POST without one, where ONAPPINSTALL (checked through app.info) is the only source.
  await app.db
    .updateTable('portals')
    .set({
      client_endpoint: `http://127.0.0.1:${(other.address() as { port: number }).port}/rest/`,
      application_token: null,
    })
    .where('member_id', '=', portal.memberId)
    .execute()
  const replies = await emu.finishInstall(portal)
  t.equal(replies[0]!.status, 401, 'refused')
  t.equal((await app.portals.find(portal.memberId))!.application_token, null, 'no application_token stored')
  t.ok(stored.client_endpoint, 'the real endpoint was stored at install')
})

t.test('an ONAPPINSTALL long after the install (no token stored meanwhile) is refused', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  t.ok((await app.portals.find(portal.memberId))!.application_token, 'the real ONAPPINSTALL was accepted')
  // Later, with no application_token stored, a valid ONAPPINSTALL with a working token arrives.
  await app.db
    .updateTable('portals')
    .set({ application_token: null })
    .where('member_id', '=', portal.memberId)
    .execute()
  const replies = await emu.deliverEvent(
    portal,
    'ONAPPINSTALL',
    { VERSION: '1' },
    { applicationToken: 'attacker-chosen', url: `${url}/bitrix24/events` },
  )
  t.equal(replies[0]!.status, 401, 'outside the install window')
  t.equal((await app.portals.find(portal.memberId))!.application_token, null)
})
