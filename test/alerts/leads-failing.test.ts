/**
 * Leads that fail alert the administrators once per burst (not once per lead), again only after
 * the repeat interval while failed leads remain, and a "resolved" notice replaces the alert when
 * none is left. A portal whose tokens need re-authorisation cannot be told through Bitrix24: the
 * alert waits and goes out once the portal works again.
 */
import t from 'tap'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { waitFor } from '../helpers.js'
import type { World } from '../tiktok-business/flow.js'
import { alertsOf, alertWorld, notifyCalls } from './setup.js'

async function failLeads(w: World, n: number): Promise<void> {
  const { app, url } = w.started
  const conf = (await app.settings.find(w.portal.memberId))!
  const before = (await app.leads.counts(w.portal.memberId)).failed
  // Bitrix24 refuses each of these leads (a command-level ACCESS_DENIED): they end as failed.
  w.emu.faults.failCommands(n, 'ACCESS_DENIED', { method: 'crm.lead.add' })
  const leads = Array.from({ length: n }, () => sampleLead())
  const res = await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
  if (res.status !== 200) throw new Error(`webhook ${res.status}`)
  await waitFor('failed', async () => (await app.leads.counts(w.portal.memberId)).failed === before + n)
}

t.test(
  'failing leads: one alert for the burst, repeated only after the interval, resolved when none is left',
  async (t) => {
    const w = await alertWorld(t, { alerts: { repeatMs: 1500 } })
    const { app } = w.started
    await failLeads(w, 3)
    t.same(notifyCalls(w), [], 'the webhook path itself sends no alert')
    await app.alerts.runOnce()
    const [alert] = alertsOf(w.portal, 1, 'leads_failing')
    t.ok(alert, 'the installer is alerted')
    t.match(alert!.message, /\b3 lead/, 'counts the burst')
    t.match(alert!.message, /ACCESS_DENIED/, "names Bitrix24's reason")
    t.equal(notifyCalls(w, 'leads_failing').length, 1)

    await failLeads(w, 2)
    await app.alerts.runOnce()
    await app.alerts.runOnce()
    t.equal(notifyCalls(w, 'leads_failing').length, 1, 'more failures in the same burst: no new alert')

    await new Promise((r) => setTimeout(r, 1600))
    await app.alerts.runOnce()
    t.equal(notifyCalls(w, 'leads_failing').length, 2, 'repeated once the interval has passed')
    const repeated = alertsOf(w.portal, 1, 'leads_failing')
    t.equal(repeated.length, 1, 'the repeat replaced the earlier alert')
    t.match(repeated[0]!.message, /\b5 lead/)

    t.equal(await app.leads.resend(w.portal.memberId, 'all-failed'), 5)
    app.dispatcher.notify(w.portal.memberId)
    await waitFor('re-sent', async () => (await app.leads.counts(w.portal.memberId)).delivered === 5)
    await app.alerts.runOnce()
    const resolved = alertsOf(w.portal, 1, 'leads_failing')
    t.equal(resolved.length, 1)
    t.match(resolved[0]!.message, /no undelivered leads/)
    await app.alerts.runOnce()
    t.equal(notifyCalls(w, 'leads_failing').length, 3, 'resolved once')
  },
)

t.test('a portal that needs re-authorisation is not called; the alert goes once it works again', async (t) => {
  const w = await alertWorld(t)
  const { app } = w.started
  await failLeads(w, 1)
  await app.portals.setState(w.portal.memberId, 'needs_reauth', 'Token refresh refused by Bitrix24 (invalid_grant)')
  const calls = w.emu.calls.length
  await app.alerts.runOnce()
  t.equal(w.emu.calls.length, calls, 'no call to a portal whose token died')
  const state = (await (await w.tab.get('state')).json()) as { problems: string[] }
  t.ok(
    state.problems.some((p) => /re-authorise/.test(p)),
    'the tab says so',
  )
  await app.portals.setState(w.portal.memberId, 'active', null)
  await app.alerts.runOnce()
  t.equal(alertsOf(w.portal, 1, 'leads_failing').length, 1, 'sent after the portal works again')
})
