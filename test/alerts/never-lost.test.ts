/**
 * Regression: a "resolved" notice was lost for good when Bitrix24 failed to take it. The alert's
 * end was committed (active = 0) before the notice went out, and nothing remembered that the
 * admins were still looking at the alert: a 503 (QUERY_LIMIT_EXCEEDED), a 500 or the app stopping
 * in between, and the next check found nothing to say. Now what the admins are due is read from
 * the rows and marked done only once Bitrix24 accepted it: the next check sends it, once. The
 * same holds for the alert itself, and across a restart (the counts of failed leads the alert
 * reports are rebuilt at start).
 */
import t from 'tap'
import { tempDbPath, waitFor } from '../helpers.js'
import type { World } from '../tiktok-business/flow.js'
import { alertsOf, alertWorld, failLeads, notifyCalls, restarted } from './setup.js'

/** The leads_failing commands Bitrix24 ran (a batch refused as a whole runs none of them). */
const accepted = (w: World) => notifyCalls(w, 'leads_failing').filter((c) => !c.error)

/** Whole `batch` requests refused with an error (nothing in them ran). */
const refusedBatches = (w: World) =>
  w.emu.calls.filter((c) => c.memberId === w.portal.memberId && c.method === 'batch' && c.error)

async function resendAll(w: World, delivered: number): Promise<void> {
  const { app } = w.started
  await app.leads.resend(w.portal.memberId, 'all-failed')
  app.dispatcher.notify(w.portal.memberId)
  await waitFor('re-sent', async () => (await app.leads.counts(w.portal.memberId)).delivered === delivered)
}

t.test('Bitrix24 failing during the resolved notice: once it recovers, exactly one resolved notice', async (t) => {
  const w = await alertWorld(t)
  const { app } = w.started
  await failLeads(w, 2)
  await app.alerts.runOnce()
  t.equal(accepted(w).length, 1, 'the alert')

  await resendAll(w, 2)
  w.emu.faults.failNext(3, 503, { method: 'batch', memberId: w.portal.memberId })
  await app.alerts.runOnce()
  t.ok(refusedBatches(w).length >= 1, 'the resolved notice was tried and refused (QUERY_LIMIT_EXCEEDED)')
  t.equal(accepted(w).length, 1, 'nothing new reached the portal')
  t.match(alertsOf(w.portal, 1, 'leads_failing')[0]!.message, /\b2 lead/, 'the admin still sees the alert')

  w.emu.faults.clear()
  await app.alerts.runOnce()
  t.equal(accepted(w).length, 2, 'the resolved notice went out at the next check')
  const [last] = alertsOf(w.portal, 1, 'leads_failing')
  t.match(last!.message, /no undelivered leads/, 'and replaced the alert')
  await app.alerts.runOnce()
  await app.alerts.runOnce()
  t.equal(accepted(w).length, 2, 'exactly one resolved notice')
})

t.test('Bitrix24 failing during the alert: it stays due and the next check sends it once', async (t) => {
  const w = await alertWorld(t)
  const { app } = w.started
  await failLeads(w, 1)
  w.emu.faults.failNext(3, 500, { method: 'batch', memberId: w.portal.memberId })
  await app.alerts.runOnce()
  t.ok(refusedBatches(w).length >= 1, 'tried and refused (500)')
  t.same(alertsOf(w.portal, 1, 'leads_failing'), [], 'not in the portal')
  w.emu.faults.clear()
  await app.alerts.runOnce()
  await app.alerts.runOnce()
  t.equal(accepted(w).length, 1, 'sent once the portal answers, and only once')
})

t.test('the notices due survive a restart, and the failed-lead count is rebuilt at start', async (t) => {
  let w = await alertWorld(t, { config: { DATABASE_PATH: tempDbPath() } })
  await failLeads(w, 3)
  w.emu.faults.failNext(3, 500, { method: 'batch', memberId: w.portal.memberId })
  await w.started.app.alerts.runOnce()
  t.same(accepted(w), [], 'the alert failed before the stop')

  w = await restarted(t, w)
  t.equal(w.started.app.leadCounts.get(w.portal.memberId)?.failed, 3, 'the in-memory count, seeded at start')
  w.emu.faults.clear()
  await w.started.app.alerts.runOnce()
  t.equal(accepted(w).length, 1, 'the new app sends the alert it found due')
  t.match(alertsOf(w.portal, 1, 'leads_failing')[0]!.message, /\b3 lead/, 'with the count of the failed leads')

  await resendAll(w, 3)
  w.emu.faults.failNext(3, 503, { method: 'batch', memberId: w.portal.memberId })
  await w.started.app.alerts.runOnce()
  t.equal(accepted(w).length, 1, 'the resolved notice failed before the stop')

  w = await restarted(t, w)
  w.emu.faults.clear()
  await w.started.app.alerts.runOnce()
  await w.started.app.alerts.runOnce()
  t.equal(accepted(w).length, 2, 'one resolved notice from the new app')
  t.match(alertsOf(w.portal, 1, 'leads_failing')[0]!.message, /no undelivered leads/)
})

t.test('a condition back before its end was told: the alert the admins have stays, no notice', async (t) => {
  const w = await alertWorld(t)
  const { app } = w.started
  await failLeads(w, 1)
  await app.alerts.runOnce()
  t.equal(accepted(w).length, 1)
  await resendAll(w, 1)
  w.emu.faults.failNext(3, 503, { method: 'batch', memberId: w.portal.memberId })
  await app.alerts.runOnce()
  w.emu.faults.clear()
  await failLeads(w, 1)
  await app.alerts.runOnce()
  t.equal(accepted(w).length, 1, 'for the admins it never ended: nothing to tell')
  t.match(alertsOf(w.portal, 1, 'leads_failing')[0]!.message, /\b1 lead/)
})
