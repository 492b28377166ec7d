/**
 * "No lead for N hours during a period that normally has leads": off by default; with
 * alert_silence_hours set, it alerts when the last N hours brought no lead although the same hours
 * of the week did in at least 3 of the last 4 weeks, and it ends when a lead arrives.
 */
import t from 'tap'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { waitFor } from '../helpers.js'
import type { World } from '../tiktok-business/flow.js'
import { alertsOf, alertWorld, notifyCalls } from './setup.js'

const HOUR = 3_600_000
const WEEK = 7 * 24 * HOUR

/** A delivered lead stored as received at `at` (history the emulated TikTok never sent). */
async function pastLead(w: World, at: number): Promise<void> {
  const id = sampleLead().id
  await w.started.app.db
    .insertInto('leads')
    .values({
      member_id: w.portal.memberId,
      tiktok_lead_id: id,
      format: 'tiktok',
      status: 'delivered',
      lead_json: JSON.stringify({ id, answers: [] }),
      raw_json: '{}',
      received_at: at,
      done_at: at,
      updated_at: at,
    })
    .execute()
}

const setHours = (w: World, hours: number | null) =>
  w.started.app.db
    .updateTable('portal_settings')
    .set({ alert_silence_hours: hours })
    .where('member_id', '=', w.portal.memberId)
    .execute()

t.test('silence: off by default, alerts when the same hours usually had leads, ends with a lead', async (t) => {
  const w = await alertWorld(t)
  const { app, url } = w.started
  const now = Date.now()
  // Leads one hour before now in each of the last three weeks; none in the last 2 hours.
  for (const k of [1, 2, 3]) await pastLead(w, now - k * WEEK - HOUR)
  await app.alerts.runOnce()
  t.same(notifyCalls(w, 'lead_silence'), [], 'off by default')

  await setHours(w, 2)
  await app.alerts.runOnce()
  const [alert] = alertsOf(w.portal, 1, 'lead_silence')
  t.ok(alert, 'alerted once switched on')
  t.match(alert!.message, /for 2 h/)
  await app.alerts.runOnce()
  t.equal(notifyCalls(w, 'lead_silence').length, 1, 'once')

  const conf = (await app.settings.find(w.portal.memberId))!
  await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { secret: conf.signing_secret })
  await waitFor('delivered', async () => (await app.leads.counts(w.portal.memberId)).delivered === 4)
  await app.alerts.runOnce()
  t.match(alertsOf(w.portal, 1, 'lead_silence')[0]!.message, /arriving again/, 'resolved by the lead')
})

t.test('silence: hours that had leads in only 2 of the last 4 weeks are not "normal"', async (t) => {
  const w = await alertWorld(t)
  const now = Date.now()
  for (const k of [1, 3]) await pastLead(w, now - k * WEEK - HOUR)
  await setHours(w, 2)
  await w.started.app.alerts.runOnce()
  t.same(notifyCalls(w, 'lead_silence'), [])
})
