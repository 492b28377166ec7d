/**
 * Leads that fail alert the administrators once per burst (not once per lead), again only after
 * the repeat interval while failed leads remain, and a "resolved" notice replaces the alert when
 * none is left. A portal whose tokens need re-authorisation cannot be told through Bitrix24: the
 * alert waits and goes out once the portal works again.
 */
import t from 'tap'
import { openTab, waitFor } from '../helpers.js'
import { alertsOf, alertWorld, failLeads, notifyCalls } from './setup.js'

t.test(
  'failing leads: one alert for the burst, repeated only after the interval, resolved when none is left',
  async (t) => {
    const w = await alertWorld(t, { alerts: { repeatMs: 1500 } })
    const { app } = w.started
    await failLeads(w, 3)
    t.same(notifyCalls(w), [], 'nothing before the check (failing-at-once.test.ts has the one at once)')
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

t.test(
  'tokens that need re-authorisation: no portal call, the tab says so, the alert goes once an admin re-authorises',
  async (t) => {
    const w = await alertWorld(t)
    const { app, url } = w.started
    const m = w.portal.memberId
    await failLeads(w, 1)
    // Bitrix24 no longer takes the app's tokens and refuses their refresh (the app was reinstalled
    // elsewhere, or left unused past the refresh token's life).
    w.emu.faults.expireAllTokens()
    w.emu.faults.refreshFails = 'invalid_grant'
    await app.alerts.runOnce()
    t.equal((await app.portals.find(m))!.state, 'needs_reauth', "the alert's attempt found the tokens dead")
    t.same(alertsOf(w.portal, 1, 'leads_failing'), [], 'nothing reached the admins')

    const calls = w.emu.calls.length
    const refreshes = w.emu.oauthCalls.length
    await app.alerts.runOnce()
    await app.alerts.runOnce()
    t.equal(w.emu.calls.length, calls, 'no call to a portal whose tokens died')
    t.equal(w.emu.oauthCalls.length, refreshes, 'nor a token refresh')
    const state = (await (await w.tab.get('state')).json()) as { problems: string[] }
    t.ok(
      state.problems.some((p) => /re-authorise/.test(p)),
      'the tab says so',
    )

    // An administrator opens the app: its page open hands the app new tokens.
    w.emu.faults.refreshFails = false
    t.equal((await openTab(url, w.portal, 1)).status, 200)
    t.equal((await app.portals.find(m))!.state, 'active', 're-authorised')
    await app.alerts.runOnce()
    await app.alerts.runOnce()
    const sent = notifyCalls(w, 'leads_failing').filter((c) => !c.error)
    t.equal(sent.length, 1, 'the alert that waited goes out, once')
    t.match(alertsOf(w.portal, 1, 'leads_failing')[0]!.message, /\b1 lead/)
  },
)
