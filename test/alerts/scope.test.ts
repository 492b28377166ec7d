/**
 * The `im` scope joined the manifest later: a portal installed (or approved) without it gets a
 * plain line in the tab asking an administrator to re-approve, spends no call on alerts, and gets
 * its leads all the same. A refusal with insufficient_scope is remembered the same way.
 */
import t from 'tap'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { waitFor } from '../helpers.js'
import { alertWorld, notifyCalls, WITH_IM, WITHOUT_IM } from './setup.js'

const NO_IM_LINE = /re-approve the app's permissions \(Chat and Notifications, im\)/

t.test('installed without im: the problem line, no alert call, delivery unaffected', async (t) => {
  const w = await alertWorld(t, { scope: WITHOUT_IM })
  const { app, url } = w.started
  const state = (await (await w.tab.get('state')).json()) as { problems: string[] }
  t.ok(
    state.problems.some((p) => NO_IM_LINE.test(p)),
    'the tab asks to re-approve',
  )
  const conf = (await app.settings.find(w.portal.memberId))!
  w.emu.faults.failCommands(1, 'ACCESS_DENIED', { method: 'crm.lead.add' })
  const [bad, good] = [sampleLead(), sampleLead()]
  await postWebhook(url, conf.webhook_key, notificationBody([bad!, good!]), { secret: conf.signing_secret })
  await waitFor('settled', async () => {
    const c = await app.leads.counts(w.portal.memberId)
    return c.delivered === 1 && c.failed === 1
  })
  t.ok(
    [...w.portal.leads.values()].some((l) => l.ORIGIN_ID === good!.id),
    'the good lead is in the CRM',
  )
  const calls = w.emu.calls.length
  await app.alerts.runOnce()
  t.equal(w.emu.calls.length, calls, 'no call spent on an alert the portal would refuse')
  t.same(notifyCalls(w), [])
})

t.test('insufficient_scope from the portal is remembered: the line shows and the app stops asking', async (t) => {
  const w = await alertWorld(t, { scope: WITHOUT_IM })
  const { app, url } = w.started
  // The stored scope claims im (as if approved), but the portal refuses: what it says wins.
  await app.db.updateTable('portals').set({ scope: WITH_IM }).where('member_id', '=', w.portal.memberId).execute()
  let state = (await (await w.tab.get('state')).json()) as { problems: string[] }
  t.notOk(
    state.problems.some((p) => NO_IM_LINE.test(p)),
    'no line while the scope looks granted',
  )
  const conf = (await app.settings.find(w.portal.memberId))!
  w.emu.faults.failCommands(1, 'ACCESS_DENIED', { method: 'crm.lead.add' })
  await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { secret: conf.signing_secret })
  await waitFor('failed', async () => (await app.leads.counts(w.portal.memberId)).failed === 1)
  await app.alerts.runOnce()
  t.equal(notifyCalls(w).length, 1, 'tried once')
  t.equal(notifyCalls(w)[0]!.error, 'insufficient_scope')
  state = (await (await w.tab.get('state')).json()) as { problems: string[] }
  t.ok(
    state.problems.some((p) => NO_IM_LINE.test(p)),
    'the refusal shows as the same line',
  )
  await app.alerts.runOnce()
  t.equal(notifyCalls(w).length, 1, 'not asked again under the same scope')
})
