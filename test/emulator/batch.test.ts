/**
 * batch: halt 0/1, the 50-command limit, $result substitution, per-command result_error, PHP
 * array printing for list and map `cmd`, and sub-commands recorded with inBatch.
 * @see settings/how-to-call-rest-api/batch.md
 */
import t from 'tap'
import { callForm, callJson, startEmulator } from './helpers.js'

t.test('halt=0 runs everything; failures sit in result_error under their key', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  const reply = await callJson(
    portal,
    'batch',
    {
      halt: 0,
      cmd: {
        lead_1: 'crm.lead.add?fields[TITLE]=one',
        lead_2: 'crm.lead.add?fields[SOURCE_ID]=NOPE',
        lead_3: 'crm.lead.add?fields%5BTITLE%5D=three',
        missing: 'no.such.method',
      },
    },
    access_token,
  )
  t.equal(reply.status, 200, 'the batch itself answers 200')
  t.same(Object.keys(reply.body), ['result', 'time'])
  const r = reply.body.result
  t.same(Object.keys(r), ['result', 'result_error', 'result_total', 'result_next', 'result_time'])
  t.same(r.result, { lead_1: 1, lead_3: 2 })
  t.match(r.result_error, {
    lead_2: { error: '', error_description: /Source/ },
    missing: { error: 'ERROR_METHOD_NOT_FOUND' },
  })
  t.same(r.result_total, [])
  t.same(r.result_next, [])
  t.same(Object.keys(r.result_time), ['lead_1', 'lead_3'])
  t.equal(portal.leads.size, 2)

  const subs = emu.calls.filter((c) => c.inBatch)
  t.same(
    subs.map((c) => [c.method, c.status]),
    [
      ['crm.lead.add', 200],
      ['crm.lead.add', 400],
      ['crm.lead.add', 200],
      ['no.such.method', 404],
    ],
  )
  t.equal(emu.calls.filter((c) => !c.inBatch).length, 1)
})

t.test('halt=1 stops at the first error', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  const reply = await callForm(
    portal,
    'batch',
    {
      halt: 1,
      cmd: { a: 'crm.lead.add?fields[TITLE]=a', b: 'crm.lead.get?id=999', c: 'crm.lead.add?fields[TITLE]=c' },
    },
    access_token,
  )
  t.same(reply.body.result.result, { a: 1 })
  t.match(reply.body.result.result_error, { b: { error: '', error_description: 'Not found' } })
  t.notOk('c' in reply.body.result.result_error)
  t.equal(portal.leads.size, 1, 'c never ran')
})

t.test('$result substitution and list results', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  const reply = await callJson(
    portal,
    'batch',
    {
      cmd: {
        add: 'crm.lead.add?fields[TITLE]=first&fields[ORIGIN_ID]=o-1',
        get: 'crm.lead.get?id=$result[add]',
        list: 'crm.lead.list?filter[ORIGIN_ID]=o-1&select[]=ID&select[]=TITLE',
        title: 'crm.lead.update?id=$result[add]&fields[COMMENTS]=from $result[get][TITLE]',
        total: 'crm.lead.add?fields[TITLE]=n$result_total[list]',
      },
    },
    access_token,
  )
  const r = reply.body.result
  t.equal(r.result.get.TITLE, 'first')
  t.same(r.result.list, [{ ID: '1', TITLE: 'first' }])
  t.same(r.result_total, { list: 1 })
  t.equal(portal.leads.get(1)?.['COMMENTS'], 'from first')
  t.equal(portal.leads.get(2)?.['TITLE'], 'n1')
})

t.test('a list cmd gives list results; a PHP-array-with-gaps gives an object', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  const ok = await callJson(portal, 'batch', { cmd: ['crm.lead.add?fields[TITLE]=x', 'profile'] }, access_token)
  t.same(ok.body.result.result[0], 1)
  t.ok(Array.isArray(ok.body.result.result))
  t.same(ok.body.result.result_error, [])
  const gap = await callJson(portal, 'batch', { cmd: ['profile', 'nope', 'profile'] }, access_token)
  t.same(Object.keys(gap.body.result.result), ['0', '2'])
  t.notOk(Array.isArray(gap.body.result.result))
  t.same(Object.keys(gap.body.result.result_error), ['1'])
})

t.test('more than 50 commands: the extra ones get ERROR_BATCH_LENGTH_EXCEEDED', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  const cmd: Record<string, string> = {}
  for (let i = 1; i <= 52; i++) cmd[`lead_${i}`] = `crm.lead.add?fields[TITLE]=L${i}`
  const reply = await callJson(portal, 'batch', { halt: 0, cmd }, access_token)
  t.equal(reply.status, 200)
  t.equal(Object.keys(reply.body.result.result).length, 50)
  t.same(reply.body.result.result_error, {
    lead_51: { error: 'ERROR_BATCH_LENGTH_EXCEEDED', error_description: 'Max batch length exceeded' },
    lead_52: { error: 'ERROR_BATCH_LENGTH_EXCEEDED', error_description: 'Max batch length exceeded' },
  })
  t.equal(portal.leads.size, 50)
})

t.test('no batch inside a batch; sub-commands keep the scope check', async (t) => {
  const emu = await startEmulator(t, { scope: 'crm' })
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  const reply = await callJson(portal, 'batch', { cmd: { inner: 'batch?cmd[x]=profile', user: 'user.current' } }, access_token)
  t.match(reply.body.result.result_error, {
    inner: { error: 'ERROR_BATCH_METHOD_NOT_ALLOWED' },
    user: { error: 'insufficient_scope' },
  })
})
