import t from 'tap'
import { installedPortal, startApp, startEmulator, waitFor } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import type { Emulator, Portal } from '../emulator/index.js'

async function backlog(emu: Emulator, url: string, portal: Portal, key: string, secret: string, n: number) {
  for (let i = 0; i < n; i += 50) {
    const leads = Array.from({ length: Math.min(50, n - i) }, () => sampleLead())
    const r = await postWebhook(url, key, notificationBody(leads), { secret })
    if (r.status !== 200) throw new Error(`webhook ${r.status}`)
  }
  void emu
  void portal
}

/** [leads in Bitrix24, distinct ORIGIN_IDs among them] */
function originCounts(portal: Portal): [number, number] {
  const origins = [...portal.leads.values()].map((l) => String(l.ORIGIN_ID))
  return [origins.length, new Set(origins).size]
}

t.test('rate-limit answers, 500s, timeouts and token expiry in the middle of a backlog: every lead once', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu, config: { B24_REQUEST_TIMEOUT_MS: 800 } })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  emu.faults.failNext(1, 503, { method: 'batch' })
  emu.faults.failNext(1, 500, { method: 'batch' })
  emu.faults.failNext(1, 'timeout-after-processing', { method: 'batch' })
  emu.faults.failNext(1, 'reset', { method: 'batch' })
  await backlog(emu, url, portal, conf.webhook_key, conf.signing_secret, 400)
  // The unknown-outcome batches must run with a valid token (an expired one creates nothing and
  // leaves nothing to reconcile): expire the tokens only once both have run on the portal.
  const unknown = await waitFor(
    'timeout and reset batches ran',
    () => {
      const calls = emu.calls.filter(
        (c) =>
          c.memberId === portal.memberId &&
          c.method === 'batch' &&
          (c.error === 'timeout-after-processing' || c.error === 'reset'),
      )
      return calls.length === 2 ? calls : null
    },
    30_000,
  )
  const created = new Set([...portal.leads.values()].map((l) => String(l.ORIGIN_ID)))
  for (const call of unknown) {
    // the batch's leads, by the ORIGIN_IDs in its commands
    const ids = [
      ...JSON.stringify(call.params).matchAll(/ORIGIN_ID%5D=(\d+)|ORIGIN_ID\]=(\d+)|"ORIGIN_ID":"?(\d+)/g),
    ].map((m) => m[1] ?? m[2] ?? m[3])
    t.ok(
      ids.length > 0 && ids.every((id) => created.has(String(id))),
      `the ${call.error} batch created its ${ids.length} leads in Bitrix24 before its answer was lost`,
    )
  }
  emu.faults.expireAllTokens()
  await waitFor('400 delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 400, 60_000)
  t.same(originCounts(portal), [400, 400], 'every lead in Bitrix24 exactly once')
  const counts = await app.leads.counts(portal.memberId)
  t.same(counts, { received: 0, queued: 0, sending: 0, delivered: 400, duplicate: 0, failed: 0 })
  t.ok(
    emu.calls.some((c) => c.status === 503),
    'a 503 happened',
  )
  t.ok(
    emu.calls.some((c) => c.status === 500),
    'a 500 happened',
  )
  t.ok(emu.counters.refreshes >= 1, 'token was refreshed')
  const listCalls = emu.calls.filter((c) => c.memberId === portal.memberId && c.method === 'crm.lead.list')
  t.ok(listCalls.length >= 1, 'unknown outcomes were reconciled by ORIGIN_ID')
})

t.test("a permanent field error fails only its lead, with Bitrix24's message", async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  portal.addUserField({
    FIELD_NAME: 'UF_CRM_BUDGET',
    USER_TYPE_ID: 'enumeration',
    LIST: [{ VALUE: 'Low' }, { VALUE: 'High' }],
  })
  const conf = (await app.settings.find(portal.memberId))!
  // "Huge" maps to an item id the portal does not have: Bitrix24 rejects that one lead.
  await app.settings.update(portal.memberId, {
    mapping_json: JSON.stringify({
      rules: [{ source: 'Budget', target: 'UF_CRM_BUDGET', enumMap: { Huge: '99999' } }],
      constants: {},
    }),
  })
  const good = [sampleLead(), sampleLead()]
  const bad = sampleLead({ extra: { Budget: 'Huge' } })
  await postWebhook(url, conf.webhook_key, notificationBody([good[0]!, bad, good[1]!]), { secret: conf.signing_secret })
  await waitFor('settled', async () => {
    const c = await app.leads.counts(portal.memberId)
    return c.delivered + c.failed === 3
  })
  const failed = await app.leads.findByTikTokId(portal.memberId, bad.id)
  t.equal(failed!.status, 'failed')
  t.ok(failed!.last_error && failed!.last_error.length > 5, `error recorded: ${failed!.last_error}`)
  t.equal((await app.leads.counts(portal.memberId)).delivered, 2)
  t.equal(portal.leads.size, 2)

  // A person fixes the mapping and re-sends: it goes through.
  await app.settings.update(portal.memberId, { mapping_json: JSON.stringify({ rules: [], constants: {} }) })
  t.equal(await app.leads.resend(portal.memberId, 'all-failed'), 1)
  app.dispatcher.notify(portal.memberId)
  await waitFor('re-sent', async () => (await app.leads.counts(portal.memberId)).delivered === 3)
  t.equal(portal.leads.size, 3)
})

t.test('a portal whose Bitrix24 hangs keeps its leads and does not delay another portal', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const broken = await installedPortal(emu, url)
  const healthy = await installedPortal(emu, url)
  const bConf = (await app.settings.find(broken.memberId))!
  const hConf = (await app.settings.find(healthy.memberId))!
  emu.faults.failNext(1000, 'timeout', { memberId: broken.memberId })
  await postWebhook(url, bConf.webhook_key, notificationBody([sampleLead(), sampleLead()]), {
    secret: bConf.signing_secret,
  })
  await waitFor('broken portal hanging', () =>
    emu.calls.some((c) => c.memberId === broken.memberId && c.error === 'timeout'),
  )
  await postWebhook(url, hConf.webhook_key, notificationBody([sampleLead()]), { secret: hConf.signing_secret })
  await waitFor('healthy delivered', async () => (await app.leads.counts(healthy.memberId)).delivered === 1)
  // Order, not wall-clock: the healthy portal got its lead while the other one was still hanging.
  t.equal((await app.leads.counts(broken.memberId)).delivered, 0, 'healthy portal served while the other hangs')
  t.equal(broken.leads.size, 0, 'the hanging portal has nothing yet')
  emu.faults.clear()
  await waitFor(
    'broken portal delivered after recovery',
    async () => (await app.leads.counts(broken.memberId)).delivered === 2,
    20_000,
  )
  t.same(originCounts(broken), [2, 2], 'both leads exactly once')
})
