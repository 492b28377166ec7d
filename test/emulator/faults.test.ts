/**
 * Fault injection: 500 and 503 answer without processing; 'timeout' never answers and does not
 * process; 'timeout-after-processing' and 'reset' process (the lead exists) but the client gets
 * no answer; latency delays every reply; close() ends held sockets.
 */
import t from 'tap'
import { buildEmulator } from './app.js'
import { callJson, startEmulator } from './helpers.js'

const LEAD = { fields: { TITLE: 'x' } }

t.test('500 and 503 answer at once and process nothing', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()

  emu.faults.failNext(1, 500)
  t.same(await callJson(portal, 'crm.lead.add', LEAD, access_token), {
    status: 500,
    body: { error: 'INTERNAL_SERVER_ERROR', error_description: 'Internal server error' },
  })
  emu.faults.failNext(1, 503)
  t.match(await callJson(portal, 'crm.lead.add', LEAD, access_token), { status: 503, body: { error: 'QUERY_LIMIT_EXCEEDED' } })
  t.equal(emu.counters.rateLimited, 1)
  t.equal(portal.leads.size, 0)
  t.equal((await callJson(portal, 'crm.lead.add', LEAD, access_token)).status, 200, 'the next call is normal')
  t.match(emu.calls.map((c) => c.status), [500, 503, 200])
})

t.test('faults can target a method or a portal', async (t) => {
  const emu = await startEmulator(t)
  const a = emu.createPortal()
  const b = emu.createPortal()
  const ta = a.issueToken().access_token
  const tb = b.issueToken().access_token
  emu.faults.failNext(2, 500, { method: 'crm.lead.add', memberId: b.memberId })
  t.equal((await callJson(b, 'profile', {}, tb)).status, 200)
  t.equal((await callJson(a, 'crm.lead.add', LEAD, ta)).status, 200)
  t.equal((await callJson(b, 'crm.lead.add', LEAD, tb)).status, 500)
  t.equal((await callJson(b, 'CRM.LEAD.ADD', LEAD, tb)).status, 500)
  t.equal((await callJson(b, 'crm.lead.add', LEAD, tb)).status, 200, 'two uses, then spent')
  emu.faults.failNext(5, 500)
  emu.faults.clear()
  t.equal((await callJson(b, 'profile', {}, tb)).status, 200, 'clear() drops pending faults')
})

t.test('timeout: no answer, nothing processed', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  emu.faults.failNext(1, 'timeout')
  const started = Date.now()
  await t.rejects(
    fetch(`${portal.clientEndpoint}crm.lead.add.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...LEAD, auth: access_token }),
      signal: AbortSignal.timeout(300),
    }),
  )
  t.ok(Date.now() - started >= 290, 'the client gave up on its own timer')
  t.equal(portal.leads.size, 0)
  t.match(emu.calls.at(-1), { method: 'crm.lead.add', status: 0, error: 'timeout' })
})

t.test('timeout-after-processing: the lead exists, the answer never comes', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  emu.faults.failNext(1, 'timeout-after-processing', { method: 'crm.lead.add' })
  await t.rejects(
    fetch(`${portal.clientEndpoint}crm.lead.add.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...LEAD, auth: access_token }),
      signal: AbortSignal.timeout(300),
    }),
  )
  t.equal(portal.leads.size, 1)
  t.match(emu.calls.at(-1), { status: 0, error: 'timeout-after-processing', userId: 1 })
})

t.test('reset: processed, then the connection drops', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  emu.faults.failNext(1, 'reset')
  await t.rejects(callJson(portal, 'batch', { cmd: { a: 'crm.lead.add?fields[TITLE]=a', b: 'crm.lead.add?fields[TITLE]=b' } }, access_token))
  t.equal(portal.leads.size, 2, 'both commands ran')
  t.equal((await callJson(portal, 'profile', {}, access_token)).status, 200, 'the server is fine afterwards')
})

t.test('latency is added to every REST reply', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  emu.faults.latencyMs = 150
  const started = Date.now()
  await callJson(portal, 'profile', {}, access_token)
  t.ok(Date.now() - started >= 140)
})

t.test('close() ends held sockets', async (t) => {
  const emu = await buildEmulator()
  await emu.listen()
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  emu.faults.failNext(1, 'timeout')
  const pending = callJson(portal, 'profile', {}, access_token)
  await new Promise((r) => setTimeout(r, 100))
  const started = Date.now()
  await emu.close()
  await t.rejects(pending, 'the held request fails when the emulator closes')
  t.ok(Date.now() - started < 2000)
})
