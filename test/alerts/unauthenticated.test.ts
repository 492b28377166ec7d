/**
 * Alerts are sent only by the app's own checks: no request from outside (an unknown portal, a
 * forged page open, a forged event, a webhook with a wrong key) sends one, spends a portal call on
 * one, or makes its sender an alert recipient.
 */
import t from 'tap'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { openTab, phpForm, waitFor } from '../helpers.js'
import { alertWorld, notifyCalls } from './setup.js'

t.test('an unknown or unauthenticated request never triggers an alert or a portal call for one', async (t) => {
  const w = await alertWorld(t)
  const { app, url } = w.started
  const m = w.portal.memberId
  // An alert is due (a failed lead) but the check has not run yet.
  const conf = (await app.settings.find(m))!
  w.emu.faults.failCommands(1, 'ACCESS_DENIED', { method: 'crm.lead.add' })
  await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { secret: conf.signing_secret })
  await waitFor('failed', async () => (await app.leads.counts(m)).failed === 1)
  const admins = async () =>
    (await app.db.selectFrom('portal_admins').select('user_id').where('member_id', '=', m).execute()).map(
      (r) => r.user_id,
    )
  t.same(await admins(), [1], 'the installer is the one administrator seen')
  const calls = w.emu.calls.length

  const form = (body: Record<string, unknown>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: phpForm(body),
  })
  // An unknown portal's page open and a forged event: refused before any call.
  const unknownOpen = await fetch(
    `${url}/bitrix24/placement?DOMAIN=x.test&LANG=en`,
    form({
      AUTH_ID: 'forged',
      REFRESH_ID: 'forged',
      member_id: 'unknown-member',
      PLACEMENT: 'DEFAULT',
    }),
  )
  t.equal(unknownOpen.status, 401)
  const forgedEvent = await fetch(
    `${url}/bitrix24/events`,
    form({
      event: 'ONCRMLEADUPDATE',
      data: { FIELDS: { ID: '1' } },
      ts: '1',
      auth: { member_id: m, application_token: 'forged', domain: 'x.test' },
    }),
  )
  t.equal(forgedEvent.status, 401)
  const wrongKey = await postWebhook(url, 'no-such-key', notificationBody([sampleLead()]), { secret: 'x' })
  t.equal(wrongKey.status, 404)
  await app.alerts.idle()
  t.equal(w.emu.calls.length, calls, 'no portal call at all')

  // A forged AUTH_ID for the real portal: only the existing `profile` check reaches the portal.
  const forgedOpen = await fetch(
    `${url}/bitrix24/placement?DOMAIN=x.test&LANG=en`,
    form({
      AUTH_ID: 'forged',
      REFRESH_ID: 'forged',
      member_id: m,
      PLACEMENT: 'DEFAULT',
    }),
  )
  t.equal(forgedOpen.status, 401)
  await app.alerts.idle()
  t.same(
    w.emu.calls.slice(calls).map((c) => c.method),
    ['profile'],
    'the sign-in check only',
  )
  t.same(notifyCalls(w), [], 'no alert was sent by any of them')
  t.same(await admins(), [1], 'nobody was made an alert recipient')

  // A manager's verified open: still not an administrator.
  await openTab(url, w.portal, 2)
  t.same(await admins(), [1])
  await app.alerts.runOnce()
  t.equal(notifyCalls(w).length, 1, "the app's own check sends it")
})

t.test('an administrator whose rights were taken away gets no more alerts', async (t) => {
  const w = await alertWorld(t)
  const { app, url } = w.started
  w.portal.users.push({ ID: 3, NAME: 'Ivan', LAST_NAME: 'Former', EMAIL: 'i@example.test', ADMIN: true, ACTIVE: true })
  await openTab(url, w.portal, 3)
  const conf = (await app.settings.find(w.portal.memberId))!
  w.emu.faults.failCommands(1, 'ACCESS_DENIED', { method: 'crm.lead.add' })
  await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { secret: conf.signing_secret })
  await waitFor('failed', async () => (await app.leads.counts(w.portal.memberId)).failed === 1)
  w.portal.users.find((u) => u.ID === 3)!.ADMIN = false
  await openTab(url, w.portal, 3)
  await app.alerts.runOnce()
  t.equal(w.portal.notifications(1).length, 1, 'the installer is told')
  t.same(w.portal.notifications(3), [], 'the former administrator is not')
})
