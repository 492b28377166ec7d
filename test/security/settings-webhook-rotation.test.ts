/**
 * The webhook URL was the only credential in log-only mode, was shown to every user of the tab and
 * could never change. Now an administrator rotates it: a new key at once, the old one accepted for
 * a grace period the tab shows, and the app's own TikTok subscriptions moved to the new URL
 * (subscribed first, the old ones cancelled after). Only administrators see the URL and secret.
 */
import t from 'tap'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { api, openTab, waitFor } from '../helpers.js'
import { connect, validSubs, world } from '../tiktok-business/flow.js'

t.test('rotate: new key at once, the old one until the grace period ends, TikTok subscriptions move', async (t) => {
  const w = await world(t)
  await connect(w)
  const { app, url } = w.started
  const m = w.portal.memberId
  const before = (await app.settings.find(m))!
  const oldUrl = `${url}/tiktok/webhook/${before.webhook_key}`
  t.same(
    validSubs(w.tt).map((s) => s.callbackUrl),
    [oldUrl],
    'subscribed at the old URL',
  )

  const res = await w.tab.post('webhook/rotate')
  t.equal(res.status, 200)
  const body = (await res.json()) as { url: string; previousValidUntil: string }
  const after = (await app.settings.find(m))!
  t.not(after.webhook_key, before.webhook_key, 'a new key')
  t.equal(body.url, `${url}/tiktok/webhook/${after.webhook_key}`)
  const until = Date.parse(body.previousValidUntil)
  t.ok(Math.abs(until - (Date.now() + 24 * 3600_000)) < 60_000, 'the old URL works for 24 hours')
  const state = (await (await w.tab.get('state')).json()) as { webhook: { url: string; previousUrlValidUntil: string } }
  t.equal(state.webhook.url, body.url, 'the tab shows the new URL')
  t.equal(state.webhook.previousUrlValidUntil, body.previousValidUntil, 'and until when the old one works')

  // TikTok: a subscription at the new URL, the old one cancelled through the outbox.
  await waitFor('old subscription cancelled', () => validSubs(w.tt).every((s) => s.callbackUrl === body.url))
  t.same(
    validSubs(w.tt).map((s) => s.callbackUrl),
    [body.url],
    'TikTok pushes to the new URL only',
  )
  t.equal((await app.tiktok.repo.listConnections(m))[0]!.callback_url, body.url, 'the connection remembers the new URL')

  // Both keys accept leads during the grace period.
  for (const key of [after.webhook_key, before.webhook_key]) {
    const r = await postWebhook(url, key, notificationBody([sampleLead()]), { secret: after.signing_secret })
    t.equal(r.status, 200, key === before.webhook_key ? 'old key inside the grace period' : 'new key')
  }
  // After it, the old key is unknown.
  await app.db
    .updateTable('portal_settings')
    .set({ previous_webhook_key_until: Date.now() - 1 })
    .where('member_id', '=', m)
    .execute()
  const late = await postWebhook(url, before.webhook_key, notificationBody([sampleLead()]), {
    secret: after.signing_secret,
  })
  t.equal(late.status, 404, 'the old key stops after the grace period')
})

t.test('only administrators see the webhook URL and secret, and only they rotate', async (t) => {
  const w = await world(t)
  const { app, url } = w.started
  const conf = (await app.settings.find(w.portal.memberId))!
  const page = await openTab(url, w.portal, 2)
  t.equal(page.status, 200)
  t.notOk(page.html.includes(conf.webhook_key), 'the page of a non-administrator has no webhook key')
  t.notOk(page.html.includes(`${conf.signing_secret.slice(0, 4)}•`), 'nor the masked secret')
  const user = api(url, page)
  const state = (await (await user.get('state')).json()) as {
    webhook: { url: string | null; secretMasked: string | null }
  }
  t.equal(state.webhook.url, null, 'state: the URL exists but its value is not given')
  t.equal(state.webhook.secretMasked, null)
  t.notOk(JSON.stringify(state).includes(conf.webhook_key))
  t.equal((await user.post('webhook/rotate')).status, 403, 'a non-administrator cannot rotate')
  t.equal((await app.settings.find(w.portal.memberId))!.webhook_key, conf.webhook_key, 'unchanged')
})
