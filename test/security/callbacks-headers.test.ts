/**
 * Settings API answers could be kept by browser and proxy caches; frame-ancestors let the page be
 * framed over plain http by anything at the portal's host name; and the events route told who had
 * the app installed (an unknown member_id got a different answer than a wrong token).
 */
import t from 'tap'
import { frameAncestors } from '../../src/settings/routes.js'
import { api, installedPortal, openTab, phpForm, startApp, startEmulator } from '../helpers.js'

t.test('every settings API answer says Cache-Control: no-store, refusals included', async (t) => {
  const emu = await startEmulator(t)
  const { url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const page = await openTab(url, portal)
  const a = api(url, page)
  for (const res of [
    await a.get('state'),
    await a.get('leads'),
    await a.get('stats'),
    await a.get('fields'),
    await a.post('secret/reveal'),
    await api(url, {}).get('state'),
    await a.post('options', { bad: true }),
  ]) {
    t.equal(res.headers.get('cache-control'), 'no-store', `${res.url} ${res.status}`)
  }
})

t.test('frame-ancestors: the portal over https only; http only for a portal on loopback', async (t) => {
  t.equal(frameAncestors('acme.bitrix24.com'), 'frame-ancestors https://acme.bitrix24.com')
  t.equal(frameAncestors('acme.bitrix24.com/some/path'), 'frame-ancestors https://acme.bitrix24.com')
  t.equal(frameAncestors('127.0.0.1:4000/p/abc'), 'frame-ancestors https://127.0.0.1:4000 http://127.0.0.1:4000')
  t.equal(frameAncestors('localhost:4000'), 'frame-ancestors https://localhost:4000 http://localhost:4000')
  t.notMatch(frameAncestors('localhost.attacker.example'), /http:\/\//, 'a look-alike name is not loopback')
})

t.test('events: an unknown member_id gets exactly the answer a wrong application_token gets', async (t) => {
  const emu = await startEmulator(t)
  const { url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const post = (memberId: string) =>
    fetch(`${url}/bitrix24/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: phpForm({
        event: 'ONCRMLEADUPDATE',
        data: { FIELDS: { ID: 1 } },
        auth: { member_id: memberId, application_token: 'forged', access_token: 'y', domain: 'x.bitrix24.com' },
      }),
    })
  const known = await post(portal.memberId)
  const unknown = await post('not-installed-anywhere')
  t.equal(known.status, 401)
  t.equal(unknown.status, known.status, 'same status')
  t.same(await unknown.json(), await known.json(), 'same body')
})
