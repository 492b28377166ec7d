import t from 'tap'
import { installedPortal, startApp, startEmulator, waitFor } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'

t.test('an unknown-outcome batch is looked up by @ORIGIN_ID only once it can no longer be running', async (t) => {
  const emu = await startEmulator(t)
  // Our timeout 0.8 s, the platform's cutoff 2 s: the look-up waits ≥ 2 s + the 1 s margin from the send.
  const { app, url } = await startApp(t, { emu, config: { B24_REQUEST_TIMEOUT_MS: 800, B24_MAX_REQUEST_S: 2 } })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  // The batch runs (the leads are created), then no answer reaches the app.
  emu.faults.failNext(1, 'timeout-after-processing', { method: 'batch' })
  const leads = Array.from({ length: 20 }, () => sampleLead())
  await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
  await waitFor('delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 20, 20_000)

  const mine = emu.calls.filter((c) => c.memberId === portal.memberId)
  const adds = mine.filter((c) => c.method === 'crm.lead.add')
  t.ok(adds.length >= 20, `the unanswered batch did create the leads (${adds.length} crm.lead.add)`)
  const origins = [...portal.leads.values()].map((l) => String(l.ORIGIN_ID))
  t.same([origins.length, new Set(origins).size], [20, 20], 'every lead exactly once')
  const lists = mine.filter((c) => c.method === 'crm.lead.list')
  t.ok(lists.length >= 1, 'reconciled')
  const sent = mine.find((c) => c.method === 'batch' && !c.inBatch && c.status === 0)!
  // (the app dates the send a few ms before the emulator sees it: allow 100 ms of that)
  t.ok(
    lists[0]!.at - sent.at >= 2900,
    `looked up no earlier than send + max request + margin, not at the 0.8 s timeout (${lists[0]!.at - sent.at} ms after)`,
  )
  const filter = (lists[0]!.params as { filter?: Record<string, unknown> }).filter ?? {}
  t.ok('@ORIGIN_ID' in filter && !('ORIGIN_ID' in filter), 'by the documented IN filter')
  t.equal(adds.length, 20, 'found by the look-up, so nothing was sent again')
})

t.test(
  "a 50-lead batch that outlives the app's request timeout (scaled 10×: 4.5 s of work, 3 s timeout, 6 s platform limit): every lead exactly once",
  async (t) => {
    // The case scaled down: a 50-lead batch takes 45 s, the app's request times out at 30 s,
    // the platform's cutoff is 60 s. Here 0.09 s per crm.lead.add in real time.
    // @see https://apidocs.bitrix24.com/settings/performance/limits.html ("Request Execution Time Limit")
    const emu = await startEmulator(t, {
      operating: { realTime: true, maxRequestSec: 6, costSec: { 'crm.lead.add': [0.09, 0.09] } },
    })
    const { app, url } = await startApp(t, { emu, config: { B24_REQUEST_TIMEOUT_MS: 3000, B24_MAX_REQUEST_S: 6 } })
    const portal = await installedPortal(emu, url)
    const conf = (await app.settings.find(portal.memberId))!
    const leads = Array.from({ length: 50 }, () => sampleLead())
    await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
    await waitFor('delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 50, 60_000, 100)

    const mine = emu.calls.filter((c) => c.memberId === portal.memberId)
    const batches = mine.filter(
      (c) => c.method === 'batch' && !c.inBatch && JSON.stringify(c.params).includes('crm.lead.add'),
    )
    t.equal(batches.length, 1, 'one batch of 50 leads')
    t.match(
      batches[0],
      { status: 0, error: 'client-closed' },
      'its answer never reached the app: the app gave up first, the portal went on',
    )
    const adds = mine.filter((c) => c.method === 'crm.lead.add')
    t.equal(adds.length, 50, 'the portal kept creating leads after the app timed out, and nothing was sent again')
    t.ok(
      adds.every((c) => c.status === 200),
      'every command of the batch ran',
    )

    // Each lead exactly once in the portal, counted by ORIGIN_ID.
    const count = new Map<string, number>()
    for (const l of portal.leads.values()) count.set(String(l.ORIGIN_ID), (count.get(String(l.ORIGIN_ID)) ?? 0) + 1)
    t.same(
      leads.map((l) => count.get(String(l.id)) ?? 0),
      leads.map(() => 1),
      'every lead exactly once',
    )
    t.equal(portal.leads.size, 50, 'and no other lead in the portal')

    // The app's DB holds the portal's ids.
    const rows = await app.db
      .selectFrom('leads')
      .select(['tiktok_lead_id', 'status', 'b24_lead_id'])
      .where('member_id', '=', portal.memberId)
      .execute()
    const byOrigin = new Map([...portal.leads.entries()].map(([id, l]) => [String(l.ORIGIN_ID), id]))
    t.same(
      rows.map((r) => [r.status, Number(r.b24_lead_id)]).sort(),
      rows.map((r) => ['delivered', byOrigin.get(r.tiktok_lead_id)]).sort(),
      'all delivered with the Bitrix24 id of their lead',
    )

    // The look-up came only once the batch had finished on the portal: in the emulator's own
    // record, after the last command of the batch (commands are recorded as they finish).
    const lists = mine.filter((c) => c.method === 'crm.lead.list')
    t.ok(lists.length >= 1, 'reconciled')
    const lastAdd = emu.calls.lastIndexOf(adds[adds.length - 1]!)
    const firstList = emu.calls.indexOf(lists[0]!)
    t.ok(
      firstList > lastAdd,
      `the @ORIGIN_ID look-up (call #${firstList}) came after the batch's last command (call #${lastAdd})`,
    )
    t.ok(lists[0]!.at >= adds[adds.length - 1]!.at, "and started no earlier by the emulator's clock")
    const filter = (lists[0]!.params as { filter?: Record<string, unknown> }).filter ?? {}
    t.ok('@ORIGIN_ID' in filter, 'by the documented IN filter')
  },
)
