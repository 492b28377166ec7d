import t from 'tap'
import type { RecordedCall } from '../emulator/index.js'
import { api, installedPortal, openTab, startApp, startEmulator, waitFor } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'

/*
 * The app paced by Bitrix24's operating limit, end to end: the emulator enforces it (scaled: baskets
 * of 1 s, so a window of 10 s, a limit of 1.5 s, crm.lead.add costing 10–20 ms) and the app is told
 * the same limit. 250 leads cost about 3.75 s of server time, so about 100 fit in the first limit
 * and the rest wait for baskets to leave the window, several times over. The app reads the budget
 * from the answers (each command's result_time) and holds the method until the reset instead of
 * sending batches Bitrix24 would refuse.
 * @see https://apidocs.bitrix24.com/settings/performance/limits.html "Resource Intensity Limits"
 */
const LEADS = 250
const LIMIT_S = 1.5
const COST: [number, number] = [0.01, 0.02]

/** Each crm.lead.add command with the `batch` request that carried it (by ORIGIN_ID: the latest batch before it that had it). */
function commandsWithBatch(calls: RecordedCall[], memberId: string): Array<{ call: RecordedCall; batchAt: number }> {
  const batches: Array<{ at: number; origins: Set<string> }> = []
  const out: Array<{ call: RecordedCall; batchAt: number }> = []
  for (const c of calls) {
    if (c.memberId !== memberId) continue
    if (c.method === 'batch' && !c.inBatch) {
      const cmd = (c.params as { cmd?: Record<string, unknown> }).cmd ?? {}
      const origins = new Set<string>()
      for (const command of Object.values(cmd)) {
        const s = String(command)
        const origin = new URLSearchParams(s.slice(s.indexOf('?') + 1)).get('fields[ORIGIN_ID]')
        if (origin) origins.add(origin)
      }
      batches.push({ at: c.at, origins })
    } else if (c.method === 'crm.lead.add' && c.inBatch) {
      const origin = String((c.params as { fields?: { ORIGIN_ID?: unknown } }).fields?.ORIGIN_ID ?? '')
      const batch = batches.filter((b) => b.at <= c.at && b.origins.has(origin)).pop()
      if (batch) out.push({ call: c, batchAt: batch.at })
    }
  }
  return out
}

t.test(
  'under the operating limit every lead goes once, the app holds for the reset instead of sending refused batches, and the tab says so',
  async (t) => {
    const emu = await startEmulator(t, {
      operating: { basketSec: 1, limitSec: LIMIT_S, costSec: { 'crm.lead.add': COST } },
    })
    const { app, url } = await startApp(t, {
      emu,
      config: { B24_OPERATING_LIMIT_S: LIMIT_S },
      delivery: { operatingBasketMs: 1000 },
    })
    const portal = await installedPortal(emu, url)
    const conf = (await app.settings.find(portal.memberId))!
    await app.settings.update(portal.memberId, { dedup_policy: 'off' })
    const page = await openTab(url, portal)
    t.ok(LEADS * COST[0] > LIMIT_S, 'the leads cost more than the limit even at the cheapest: the limit binds')

    // What the app says about holding, sampled: a span between two samples that both show the same
    // hold (and are before its end) is time the app was holding throughout.
    const samples: Array<{ at: number; until: number | null }> = []
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        samples.push({ at: Date.now(), until: app.dispatcher.limitOf(portal.memberId)?.until ?? null })
        await new Promise((r) => setTimeout(r, 10))
      }
    })()
    t.teardown(() => {
      sampling = false
    })

    const leads = Array.from({ length: LEADS }, (_, i) =>
      sampleLead({ phone: `09${String(10_000_000 + i)}`, email: `pace${i}@example.com` }),
    )
    for (let i = 0; i < LEADS; i += 50) {
      const res = await postWebhook(url, conf.webhook_key, notificationBody(leads.slice(i, i + 50)), {
        secret: conf.signing_secret,
      })
      t.equal(res.status, 200)
    }

    // While held, the settings API names the limit and the waiting leads (checked when the hold is
    // seen both before and after the answer, so the answer was given during it).
    let shown: string | null = null
    await waitFor(
      'the limited line in the settings status while held',
      async () => {
        if (!app.dispatcher.limitOf(portal.memberId)) return false
        const state = (await (await api(url, page).get('state')).json()) as { problems: string[] }
        if (!app.dispatcher.limitOf(portal.memberId)) return false
        shown = state.problems.find((p) => /Bitrix24 is limiting this app: sending resumes at \d\d:\d\d/.test(p)) ?? ''
        return true
      },
      60_000,
      5,
    )
    t.match(
      shown,
      /Bitrix24 is limiting this app: sending resumes at \d\d:\d\d( UTC)?\. \d+ lead\(s\) are waiting/,
      'the status says the app is limited, until when, and how many leads wait',
    )

    await waitFor(
      'all delivered',
      async () => (await app.leads.counts(portal.memberId)).delivered === LEADS,
      90_000,
      50,
    )
    sampling = false
    await sampler

    const origins = [...portal.leads.values()].map((l) => String(l.ORIGIN_ID))
    t.equal(origins.length, LEADS, 'as many leads in Bitrix24 as were sent: none twice')
    t.same([...origins].sort(), leads.map((l) => l.id).sort(), 'each lead exactly once')
    const counts = await app.leads.counts(portal.memberId)
    t.equal(counts.failed, 0, 'none failed')

    const holds = samples.filter((s) => s.until !== null)
    t.ok(holds.length > 0, 'the app held the method at least once')
    const refused = emu.counters.operatingRefused
    t.ok(refused <= 5, `a handful of refusals at most (${refused}): the app paces by the budget the answers name`)

    const held: Array<[number, number]> = []
    for (let i = 0; i + 1 < samples.length; i++) {
      const a = samples[i]!
      const b = samples[i + 1]!
      if (a.until !== null && a.until === b.until && b.at < a.until) held.push([a.at, b.at])
    }
    t.ok(held.length > 0, 'holds were seen from start to end of a sample interval')
    const commands = commandsWithBatch(emu.calls, portal.memberId)
    t.equal(
      commands.filter((c) => c.call.status === 200).length,
      LEADS,
      'every add that ran belongs to a batch the app sent',
    )
    const sentWhileHeld = commands.filter(
      (c) => c.call.status === 429 && held.some(([from, to]) => c.batchAt > from && c.batchAt < to),
    )
    t.same(
      sentWhileHeld.map((c) => c.batchAt),
      [],
      'no refused command came in a batch sent while the app was holding',
    )
    const batchesWhileHeld = new Set(
      commands.filter((c) => held.some(([from, to]) => c.batchAt > from && c.batchAt < to)).map((c) => c.batchAt),
    )
    t.equal(batchesWhileHeld.size, 0, 'no lead batch at all was sent while the app was holding')
  },
)
