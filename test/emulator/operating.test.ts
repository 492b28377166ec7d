/**
 * The operating limit, slow and half-finished batches, per-command faults and the HTML 404.
 * @see settings/performance/limits.md "Resource Intensity Limits", "Request Execution Time Limit"
 * @see settings/how-to-call-rest-api/batch.md "Error Handling"
 */
import t from 'tap'
import { callJson, fakeClock, startEmulator, type Json } from './helpers.js'

const addCmd = (from: number, to: number): Record<string, string> => {
  const cmd: Record<string, string> = {}
  for (let i = from; i <= to; i++) cmd[`l${i}`] = `crm.lead.add?fields[TITLE]=L${i}&fields[ORIGIN_ID]=o-${i}`
  return cmd
}

t.test(
  'limits.md: each call counts against its method; past the limit 429 OPERATION_TIME_LIMIT, other methods still work',
  async (t) => {
    const clock = fakeClock()
    const emu = await startEmulator(t, {
      now: clock.now,
      operating: { limitSec: 5, costSec: { 'crm.lead.add': [2, 2] } },
    })
    const portal = emu.createPortal()
    const { access_token: token } = portal.issueToken()
    const first = clock.now()
    const sums: number[] = []
    for (let i = 0; i < 3; i++) {
      const r = await callJson(portal, 'crm.lead.add', { fields: { TITLE: `L${i}` } }, token)
      t.equal(r.status, 200)
      sums.push(r.body.time.operating)
      t.equal(
        r.body.time.operating_reset_at,
        Math.floor(first / 1000) + 600,
        'the oldest basket leaves 10 min after its first call',
      )
      clock.advance(1000)
    }
    t.same(sums, [2, 4, 6], 'the call that lifts the sum over the limit still runs')
    const level = portal.bucketLevel()
    const refused = await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'late' } }, token)
    t.equal(refused.status, 429)
    t.equal(refused.body.error, 'OPERATION_TIME_LIMIT')
    t.type(refused.body.error_description, 'string')
    t.equal(portal.leads.size, 3, 'the refused call did not run')
    t.equal(portal.bucketLevel(), level + 1, 'a refused call ticks the leaky bucket like any request')
    t.equal(emu.counters.operatingRefused, 1)
    const other = await callJson(portal, 'crm.lead.list', {}, token)
    t.equal(other.status, 200, 'another method is not blocked')
    t.ok(other.body.time.operating < 1, 'and has its own sum')

    clock.advance(600_000)
    const again = await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'after reset' } }, token)
    t.equal(again.status, 200, 'after the baskets leave, the method works again')
    t.equal(again.body.time.operating, 2)
  },
)

t.test('limits.md: ten baskets; the oldest leaves alone and the rest stay counted', async (t) => {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now, operating: { costSec: { 'crm.lead.add': [1, 1] } } })
  const portal = emu.createPortal()
  const { access_token: token } = portal.issueToken()
  const t0 = clock.now()
  await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'a' } }, token)
  clock.advance(120_000)
  const t1 = clock.now()
  const second = await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'b' } }, token)
  t.equal(second.body.time.operating, 2)
  t.equal(second.body.time.operating_reset_at, Math.floor(t0 / 1000) + 600)
  clock.advance(600_000 - 120_000)
  const third = await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'c' } }, token)
  t.equal(third.body.time.operating, 2, 'the first basket left; the second still counts')
  t.equal(third.body.time.operating_reset_at, Math.floor(t1 / 1000) + 600)
})

t.test(
  'batch.md + limits.md: batch is not counted, each command is; one over the limit gets result_error and does not run',
  async (t) => {
    const clock = fakeClock()
    const emu = await startEmulator(t, {
      now: clock.now,
      operating: { limitSec: 3, costSec: { 'crm.lead.add': [1, 1], 'crm.lead.list': [0.5, 0.5] } },
    })
    const portal = emu.createPortal()
    const { access_token: token } = portal.issueToken()
    const cmd = { ...addCmd(1, 6), list: 'crm.lead.list' }
    const r = await callJson(portal, 'batch', { halt: 0, cmd }, token)
    t.equal(r.status, 200)
    const res: Json = r.body.result
    t.same(Object.keys(res.result).sort(), ['l1', 'l2', 'l3', 'l4', 'list'])
    t.same(Object.keys(res.result_error).sort(), ['l5', 'l6'])
    t.equal(res.result_error.l5.error, 'OPERATION_TIME_LIMIT')
    t.same(
      ['l1', 'l2', 'l3', 'l4'].map((k) => res.result_time[k].operating),
      [1, 2, 3, 4],
      'each command carries its method sum',
    )
    t.equal(res.result_time.list.operating, 0.5, 'another method, its own sum')
    t.type(res.result_time.l1.operating_reset_at, 'number')
    t.notOk('operating' in r.body.time, 'the outer block shows no operating (batch is not counted)')
    t.equal(portal.leads.size, 4)
    t.equal(emu.counters.operatingRefused, 2)
    t.equal(emu.calls.filter((c) => c.inBatch && c.method === 'crm.lead.add' && c.status === 200).length, 4)
  },
)

t.test('setOperating and POST /_emulator/operating change the settings at run time', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token: token } = portal.issueToken()
  const r1 = await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'a' } }, token)
  t.ok(r1.body.time.operating >= 0.1 && r1.body.time.operating <= 0.5, 'default crm.lead.add cost 0.1–0.5 s')
  const control = await fetch(`${emu.url}/_emulator/operating`, {
    method: 'POST',
    body: JSON.stringify({ limitSec: 0, costSec: { 'crm.lead.add': [1, 1] } }),
  })
  t.equal(control.status, 200)
  const r2 = await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'b' } }, token)
  t.equal(r2.status, 429, 'limit 0: the sum is already above it')
  emu.setOperating({ limitSec: 480 })
  t.equal((await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'c' } }, token)).status, 200)
})

t.test('failCommands: the next n matching commands get result_error and do not run', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token: token } = portal.issueToken()
  emu.faults.failCommands(1, 'QUERY_LIMIT_EXCEEDED', { method: 'crm.lead.add' })
  const control = await fetch(`${emu.url}/_emulator/faults`, {
    method: 'POST',
    body: JSON.stringify({ failCommands: { n: 2, code: 'ERROR_CORE', method: 'crm.lead.add' } }),
  })
  t.equal(control.status, 200)
  emu.faults.failCommands(1, 'OPERATION_TIME_LIMIT')
  emu.faults.failCommands(1, 'INTERNAL_SERVER_ERROR')
  const r = await callJson(portal, 'batch', { halt: 0, cmd: addCmd(1, 7) }, token)
  t.equal(r.status, 200)
  const res: Json = r.body.result
  t.same(
    ['l1', 'l2', 'l3', 'l4', 'l5'].map((k) => res.result_error[k].error),
    ['QUERY_LIMIT_EXCEEDED', 'ERROR_CORE', 'ERROR_CORE', 'OPERATION_TIME_LIMIT', 'INTERNAL_SERVER_ERROR'],
  )
  t.type(res.result_error.l1.error_description, 'string')
  t.same(Object.keys(res.result).sort(), ['l6', 'l7'])
  t.equal(portal.leads.size, 2, 'the failed commands did not run')
  t.equal(emu.counters.operatingRefused, 1)
  const direct = await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'x' } }, token)
  t.equal(direct.status, 200, 'rules are consumed')
  emu.faults.failCommands(5, 'ERROR_CORE')
  emu.faults.clear()
  const after = await callJson(portal, 'batch', { cmd: addCmd(10, 11) }, token)
  t.same(after.body.result.result_error, [], 'clear() drops them')
})

t.test('http-404: an HTML page, no JSON error code, nothing run', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token: token } = portal.issueToken()
  emu.faults.failNext(1, 'http-404', { method: 'batch' })
  const response = await fetch(`${portal.clientEndpoint}batch.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ cmd: addCmd(1, 3), auth: token }),
  })
  t.equal(response.status, 404)
  t.match(response.headers.get('content-type'), /text\/html/)
  const text = await response.text()
  t.throws(() => JSON.parse(text), 'not JSON')
  t.equal(portal.leads.size, 0)
})

t.test('realTime: a batch takes the sum of its commands; a client that gives up does not stop it', async (t) => {
  const emu = await startEmulator(t, { operating: { realTime: true, costSec: { 'crm.lead.add': [0.1, 0.1] } } })
  const portal = emu.createPortal()
  const { access_token: token } = portal.issueToken()
  const started = Date.now()
  await t.rejects(
    fetch(`${portal.clientEndpoint}batch.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cmd: addCmd(1, 10), auth: token }),
      signal: AbortSignal.timeout(300),
    }),
    'the client gives up at 0.3 s',
  )
  t.ok(portal.leads.size < 10, 'the batch was still running when the client left')
  while (portal.leads.size < 10 && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 50))
  t.equal(portal.leads.size, 10, 'the portal kept going: all 10 leads exist')
  t.equal(emu.calls.find((c) => c.method === 'batch')?.status, 0, 'recorded as not answered')
})

t.test('cut-mid-batch: the connection drops after about half the commands; the rest still run', async (t) => {
  const emu = await startEmulator(t, { operating: { realTime: true, costSec: { 'crm.lead.add': [0.05, 0.05] } } })
  const portal = emu.createPortal()
  const { access_token: token } = portal.issueToken()
  emu.faults.failNext(1, 'cut-mid-batch', { method: 'batch' })
  const started = Date.now()
  await t.rejects(
    fetch(`${portal.clientEndpoint}batch.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cmd: addCmd(1, 10), auth: token }),
    }),
  )
  t.ok(portal.leads.size >= 5 && portal.leads.size < 10, `cut with ${portal.leads.size} of 10 done`)
  while (portal.leads.size < 10 && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 50))
  t.equal(portal.leads.size, 10)
  t.equal(emu.calls.find((c) => c.method === 'batch')?.error, 'cut-mid-batch')
})

t.test('limits.md: a request past maxRequestSec is interrupted: later commands do not start, no answer', async (t) => {
  const emu = await startEmulator(t, { operating: { maxRequestSec: 3, costSec: { 'crm.lead.add': [1, 1] } } })
  const portal = emu.createPortal()
  const { access_token: token } = portal.issueToken()
  await t.rejects(callJson(portal, 'batch', { cmd: addCmd(1, 6) }, token))
  t.equal(portal.leads.size, 3, 'the commands that ran within the limit stay done')
  t.equal(emu.calls.find((c) => c.method === 'batch')?.error, 'execution-time-limit')
})
