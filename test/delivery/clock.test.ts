import t from 'tap'
import type { Clock } from '../../src/clock.js'
import type { Lead } from '../../src/db/schema.js'
import { manualClock, type ManualClock } from '../app-clock.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { installedPortal, startApp, startEmulator, waitFor, type StartedApp, type Teardown } from '../helpers.js'

/**
 * Delivery's waits on the app's clock, not on real time: a manual clock (test/app-clock.ts) moves
 * only when the test says, so a retry or a look-up that comes one millisecond early shows as a
 * request the emulator recorded too soon. Each test checks the wake-up the worker scheduled (a
 * timer at exactly the expected clock time), that nothing is sent one millisecond before it, and
 * what is sent at it.
 */

/** The manual clock, recording the clock time each timer was set for. */
function recordingClock(): ManualClock & { timersAt: number[] } {
  const clock = manualClock(Date.now())
  const timersAt: number[] = []
  const base = clock.setTimer
  const setTimer: Clock['setTimer'] = (fn, ms) => {
    timersAt.push(clock.now() + Math.max(0, ms))
    return base(fn, ms)
  }
  return Object.assign(clock, { setTimer, timersAt })
}

async function setUp(t: Teardown, delivery: NonNullable<Parameters<typeof startApp>[1]>['delivery'] = {}) {
  const clock = recordingClock()
  const emu = await startEmulator(t)
  const started = await startApp(t, { emu, clock, delivery })
  // The install's requests wait in the portal's queue for the clock (2 per second): move it along
  // until they have all run, then let their second of the rate window pass.
  const portal = await ticking(clock, installedPortal(emu, started.url))
  await ticking(
    clock,
    waitFor('no request left in the queue', () => started.app.portalQueues.pending(portal.memberId) === 0),
  )
  await clock.advance(1500)
  const conf = (await started.app.settings.find(portal.memberId))!
  // One request per attempt (no duplicate look-up), so the portal's queue never holds a send.
  await started.app.settings.update(portal.memberId, { dedup_policy: 'off' })
  return { clock, emu, portal, conf, ...started }
}

/** Advance the clock in small steps while `p` runs (set-up only: nothing under test happens then). */
async function ticking<T>(clock: ManualClock, p: Promise<T>): Promise<T> {
  let done = false
  const out = p.finally(() => {
    done = true
  })
  while (!done) {
    await clock.advance(100)
    await new Promise((r) => setTimeout(r, 10))
  }
  return out
}

async function onlyLead(s: StartedApp, memberId: string): Promise<Lead> {
  const rows = await s.database.db.selectFrom('leads').selectAll().where('member_id', '=', memberId).execute()
  if (rows.length !== 1) throw new Error(`expected one lead, found ${rows.length}`)
  return rows[0] as Lead
}

t.test('a lead whose command failed is sent again exactly when its backoff ends on the clock', async (t) => {
  // The jitter pinned to its top: the first retry's delay is exactly the nominal 10 s (backoff.ts).
  const s = await setUp(t, { backoff: { baseMs: 10_000, maxMs: 60_000, random: () => 1 } })
  const { clock, emu, portal, conf } = s
  const adds = () => emu.calls.filter((c) => c.memberId === portal.memberId && c.method === 'crm.lead.add')
  emu.faults.failCommands(1, 'ERROR_CORE', { method: 'crm.lead.add', memberId: portal.memberId })
  const lead = sampleLead()
  const posted = await postWebhook(s.url, conf.webhook_key, notificationBody([lead]), { secret: conf.signing_secret })
  t.equal(posted.status, 200)

  const failed = await waitFor('the refused lead back in the queue', async () => {
    const row = await onlyLead(s, portal.memberId)
    return row.status === 'queued' && row.attempts === 1 ? row : null
  })
  t.equal(adds().length, 1, 'sent once')
  t.equal(adds()[0]!.error, 'ERROR_CORE')
  t.equal(failed.next_attempt_at - failed.updated_at, 10_000, "due after the first attempt's backoff, by the clock")
  await waitFor('the wake-up at the retry time', () => clock.timersAt.includes(failed.next_attempt_at))

  await clock.advance(failed.next_attempt_at - clock.now() - 1)
  // Whatever the worker would do by now it has done: give it real time to show a request.
  await new Promise((r) => setTimeout(r, 300))
  t.equal(adds().length, 1, 'nothing sent 1 ms before the backoff ends')
  t.equal((await onlyLead(s, portal.memberId)).status, 'queued')

  await clock.advance(1)
  const delivered = await waitFor('delivered', async () => {
    const row = await onlyLead(s, portal.memberId)
    return row.status === 'delivered' ? row : null
  })
  t.equal(adds().length, 2, 'sent a second time')
  t.equal(delivered.sent_at, failed.next_attempt_at, 'claimed at the backoff end, by the clock')
  t.equal(delivered.attempts, 2)
  t.equal(portal.leads.size, 1, 'one lead in Bitrix24')
})

t.test('an unknown-outcome lead is looked up by ORIGIN_ID only once the request cannot be running', async (t) => {
  const requestMayRunMs = 20_000
  // reconcileWaitOf: requestMayRunMs plus max(1 s, a tenth of it) when that is above reconcileAfterMs
  const wait = requestMayRunMs + 2000
  const s = await setUp(t, { requestMayRunMs, reconcileAfterMs: 300 })
  const { clock, emu, portal, conf } = s
  const calls = (method: string) => emu.calls.filter((c) => c.memberId === portal.memberId && c.method === method)
  // The batch runs on the portal (the lead is created), then the connection is reset: no answer.
  emu.faults.failNext(1, 'reset', { method: 'batch', memberId: portal.memberId })
  const lead = sampleLead()
  await postWebhook(s.url, conf.webhook_key, notificationBody([lead]), { secret: conf.signing_secret })

  const unknown = await waitFor('the lead left sending with an unknown outcome', async () => {
    const row = await onlyLead(s, portal.memberId)
    return row.status === 'sending' && row.last_error?.includes('outcome unknown') ? row : null
  })
  t.equal(portal.leads.size, 1, 'Bitrix24 did create it')
  const sentAt = unknown.updated_at
  t.equal(sentAt, unknown.sent_at, 'dated at its send start')

  // The portal's pause after the failure ends first; the worker then schedules the look-up.
  await clock.advance(1000)
  await waitFor('the wake-up at the look-up time', () => clock.timersAt.includes(sentAt + wait))
  await clock.advance(sentAt + wait - 1 - clock.now())
  await new Promise((r) => setTimeout(r, 300))
  t.equal(calls('crm.lead.list').length, 0, 'not looked up 1 ms before the request can no longer run')
  t.equal(calls('crm.lead.add').length, 1)

  await clock.advance(1)
  const delivered = await waitFor('delivered by the look-up', async () => {
    const row = await onlyLead(s, portal.memberId)
    return row.status === 'delivered' ? row : null
  })
  const lists = calls('crm.lead.list')
  t.equal(lists.length, 1, 'one look-up')
  t.match(JSON.stringify(lists[0]!.params), lead.id, 'by the lead’s ORIGIN_ID')
  t.equal(calls('crm.lead.add').length, 1, 'never sent again')
  t.equal(portal.leads.size, 1, 'one lead in Bitrix24')
  t.equal(delivered.b24_lead_id, Number([...portal.leads.keys()][0]), 'the lead Bitrix24 made')
  t.equal(delivered.done_at, sentAt + wait, 'delivered at the look-up time, by the clock')
})
