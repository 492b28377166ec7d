/**
 * Leads that end as failed alert at once, not at the next minute's check: the lead repository
 * tells the alerts of each portal whose leads just failed, and a burst is coalesced into one
 * evaluation (kinds.ts FAILED_QUIET_MS after the last failure, FAILED_MAX_WAIT_MS after the
 * first at the latest), hence one notice. On the app's manual clock (test/app-clock.ts): the
 * periodic check runs every 60 s of that clock, and it is the clock, not real time, that says
 * the notice came before it.
 */
import t from 'tap'
import { CHECK_EVERY_MS, FAILED_MAX_WAIT_MS, FAILED_QUIET_MS } from '../../src/alerts/kinds.js'
import { manualClock } from '../app-clock.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import type { World } from '../tiktok-business/flow.js'
import { alertsOf, alertWorld, notifyCalls } from './setup.js'

const BURST = 1000
const PER_WEBHOOK = 100

/** Real time until the app has nothing left to do before the clock moves (the calls and counts stand still). */
async function settle(w: World): Promise<void> {
  const { app } = w.started
  const snap = async () =>
    `${w.emu.calls.length}/${(await app.leads.counts(w.portal.memberId)).failed}/${app.portalQueues.pending(w.portal.memberId)}`
  let last = await snap()
  for (let still = 0; still < 4; ) {
    await new Promise((r) => setTimeout(r, 15))
    const now = await snap()
    still = now === last ? still + 1 : 0
    last = now
  }
}

t.test('a burst of 1,000 failed leads: one evaluation and one notice, well before the minute check', async (t) => {
  const clock = manualClock(Date.now())
  const begun = clock.now()
  // The periodic check on: its first pass (at start, no portal yet) and then every 60 s of the clock.
  const w = await alertWorld(t, { clock, alerts: { schedule: true, onFailure: {} } })
  const { app, url } = w.started
  const m = w.portal.memberId
  const minuteCheck = begun + CHECK_EVERY_MS
  // One request per 50 leads (no duplicate look-up): the portal's 2 requests a second of the clock
  // make the burst last about 10 s, each failure within a second of the one before.
  await app.settings.update(m, { dedup_policy: 'off' })
  const conf = (await app.settings.find(m))!
  const before = app.alerts.evaluations

  w.emu.faults.failCommands(BURST, 'ACCESS_DENIED', { method: 'crm.lead.add', memberId: m })
  for (let i = 0; i < BURST / PER_WEBHOOK; i++) {
    const leads = Array.from({ length: PER_WEBHOOK }, () => sampleLead())
    const res = await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
    t.equal(res.status, 200)
  }

  // Move the clock 250 ms at a time, each step once the app has done what it could.
  const failed = async () => (await app.leads.counts(m)).failed
  let firstFailureAt: number | null = null
  let lastFailureAt = 0
  let noticeAt: number | null = null
  while (noticeAt === null && clock.now() < minuteCheck) {
    await settle(w)
    const n = await failed()
    if (n > 0) firstFailureAt ??= clock.now()
    if (n < BURST) lastFailureAt = clock.now()
    if (alertsOf(w.portal, 1, 'leads_failing').length) noticeAt = clock.now()
    else await clock.advance(250)
  }
  t.equal(await failed(), BURST, 'every lead of the burst failed')
  t.ok(noticeAt !== null && noticeAt < minuteCheck, 'the notice came before the minute check')
  t.ok(
    noticeAt! - firstFailureAt! <= FAILED_MAX_WAIT_MS + 1000,
    `within the wait after the first failure (${noticeAt! - firstFailureAt!} ms of the clock)`,
  )
  t.ok(noticeAt! - lastFailureAt >= FAILED_QUIET_MS - 250, 'once the burst was over')
  t.equal(app.alerts.evaluations - before, 1, 'one evaluation for the burst')
  t.equal(notifyCalls(w, 'leads_failing').length, 1, 'one notice')
  t.match(alertsOf(w.portal, 1, 'leads_failing')[0]!.message, /\b1000 lead/, 'counting the whole burst')

  // The minute check comes, finds the alert sent: nothing more.
  while (clock.now() < minuteCheck + 1000) {
    await clock.advance(500)
    await settle(w)
  }
  await app.alerts.idle()
  t.equal(app.alerts.evaluations - before, 2, 'the minute check ran')
  t.equal(notifyCalls(w, 'leads_failing').length, 1, 'and sent nothing more')
})
