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
  t.ok(lists[0]!.at - sent.at >= 2900, `looked up no earlier than send + max request + margin, not at the 0.8 s timeout (${lists[0]!.at - sent.at} ms after)`)
  const filter = (lists[0]!.params as { filter?: Record<string, unknown> }).filter ?? {}
  t.ok('@ORIGIN_ID' in filter && !('ORIGIN_ID' in filter), 'by the documented IN filter')
  t.equal(adds.length, 20, 'found by the look-up, so nothing was sent again')
})
