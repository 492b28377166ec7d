/**
 * /metrics was public and listed every customer's member id (which the placement flood then
 * used). It now needs METRICS_TOKEN as a bearer token; without one configured it answers 404.
 */
import t from 'tap'
import { installedPortal, METRICS_TOKEN, startApp, startEmulator } from '../helpers.js'

t.test('no token configured: /metrics does not exist', async (t) => {
  const emu = await startEmulator(t)
  const { url } = await startApp(t, { emu, config: { METRICS_TOKEN: undefined } })
  const portal = await installedPortal(emu, url)
  const res = await fetch(`${url}/metrics`)
  t.equal(res.status, 404)
  t.notOk((await res.text()).includes(portal.memberId))
})

t.test('with a token: missing or wrong bearer gets 401 and no member id; the right one gets the metrics', async (t) => {
  const emu = await startEmulator(t)
  const { url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const tries: Array<Record<string, string>> = [
    {},
    { authorization: 'Bearer wrong-token-0123456789' },
    { authorization: METRICS_TOKEN },
    { authorization: `Basic ${METRICS_TOKEN}` },
  ]
  for (const headers of tries) {
    const res = await fetch(`${url}/metrics`, { headers })
    t.equal(res.status, 401, JSON.stringify(headers))
    t.notOk((await res.text()).includes(portal.memberId), 'no member id')
  }
  const ok = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  t.equal(ok.status, 200)
  t.match(await ok.text(), `b24_portal_state{member_id="${portal.memberId}",state="active"} 1`)
})
