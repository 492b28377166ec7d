/**
 * A TikTok connection lost (the token revoked at TikTok, found by the health check) alerts every
 * administrator the app has seen inside Bitrix24 (im.notify.system.add, TAG per kind and user),
 * once: a second check does not repeat it, and a reconnect replaces it with a "resolved" notice.
 */
import t from 'tap'
import { openTab, waitFor } from '../helpers.js'
import { connect } from '../tiktok-business/flow.js'
import { addAdmin, alertsOf, alertWorld, notifyCalls } from './setup.js'

t.test('a revoked TikTok token: one alert per administrator with its TAG, once; a reconnect resolves it', async (t) => {
  const w = await alertWorld(t)
  const { app, url } = w.started
  const second = addAdmin(w.portal)
  t.equal((await openTab(url, w.portal, second)).status, 200, 'a second administrator opens the app')
  t.equal((await openTab(url, w.portal, 2)).status, 200, 'a manager (no admin rights) opens it too')
  await connect(w)
  t.same(notifyCalls(w), [], 'nothing to tell while the connection works')

  w.tt.revokeAdvertiserAccess(w.adv.id)
  t.equal((await w.tab.post('tiktok/check', { advertiserId: w.adv.id })).status, 200)
  const [first] = await waitFor('the alert to the installer', () => {
    const a = alertsOf(w.portal, 1, 'tiktok_lost')
    return a.length ? a : null
  })
  t.match(first!.message, /Acme Ads/, 'names the ad account')
  t.match(first!.message, /\[url=http:\/\/[^\]]+\/crm\/lead\/list\/\]/, 'links to the list whose menu opens the tab')
  t.match(first!.message, /Connect TikTok/, 'says what to do')
  await app.alerts.idle()
  t.equal(alertsOf(w.portal, second, 'tiktok_lost').length, 1, 'the second administrator gets their own')
  t.same(w.portal.notifications(2), [], 'the manager gets nothing')
  t.equal(notifyCalls(w, 'tiktok_lost').length, 2, 'one command per administrator')
  t.ok(
    notifyCalls(w).every((c) => c.inBatch),
    'sent in one batch',
  )

  // A second check (and the periodic pass) find the same loss: nothing is sent again.
  t.equal((await w.tab.post('tiktok/check', { advertiserId: w.adv.id })).status, 200)
  await app.alerts.idle()
  await app.alerts.runOnce()
  t.equal(notifyCalls(w, 'tiktok_lost').length, 2, 'not repeated')
  const state = (await (await w.tab.get('state')).json()) as { problems: string[] }
  t.notOk(
    state.problems.some((p) => /re-approve/.test(p)),
    'no scope problem on a portal with im',
  )

  // Reconnect: the check of the new connection is active, so the alert ends.
  await connect(w)
  await app.alerts.runOnce()
  const after = alertsOf(w.portal, 1, 'tiktok_lost')
  t.equal(after.length, 1, 'the resolved notice replaces the alert (same TAG)')
  t.match(after[0]!.message, /works again/)
  t.equal(notifyCalls(w, 'tiktok_lost').length, 4)
  await app.alerts.runOnce()
  t.equal(notifyCalls(w, 'tiktok_lost').length, 4, 'the resolved notice is sent once')
})
