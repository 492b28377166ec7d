/**
 * Lead subscriptions and pushes:
 * - subscribe validates each field (app credentials 40101, entity, https callback except loopback,
 *   token 40105, advertiser coverage 40001, page of the advertiser); the same request twice makes two
 *   independent subscriptions and both get the lead. @see bububa model/subscription/*.go;
 *   reference/tiktok-research.md §1(a) ("Subscriptions are independent")
 * - the body: object 1, entry fields, ids as bare 19-digit JSON numbers; `TikTok-Signature:
 *   t=…,s=hex(HMAC-SHA256(app secret, t + "." + body))`. @see developers.tiktok.com/doc/webhooks-verification
 * - non-200 → retries with exponential backoff until the window after the first attempt, then
 *   given up. @see developers.tiktok.com/doc/webhooks-overview (72 h, exponential backoff)
 * - a revoked token or a deleted subscription: no more pushes, not listed. @see bububa
 *   SubscriptionDetail.AccessToken comment
 */
import { createHmac } from 'node:crypto'
import t from 'tap'
import { APP, call, connect, startReceiver, startTikTok, subscribeBody } from './helpers.js'
import type { TikTokEmulator } from './index.js'

const FAST = { firstDelayMs: 20, factor: 2, windowMs: 150 }

/** An advertiser "Acme" with one form "F", subscribed advertiser-wide to push to `callbackUrl`. */
async function subscribedForm(tt: TikTokEmulator, callbackUrl: string) {
  const adv = tt.addAdvertiser({ name: 'Acme' })
  const { pageId } = tt.addForm(adv.id, { title: 'F' })
  const token = await connect(tt)
  const res = await call(
    tt,
    'POST',
    'subscription/subscribe/',
    subscribeBody(token, callbackUrl, { advertiser_id: adv.id }),
  )
  return { adv, pageId, token, res }
}

t.test('subscribe validation, duplicates allowed, listing', async (t) => {
  const tt = await startTikTok(t)
  const adv = tt.addAdvertiser({ name: 'Acme' })
  const other = tt.addAdvertiser({ name: 'Other' })
  const { pageId } = tt.addForm(adv.id, { title: 'F' })
  const token = await connect(tt, [adv.id])
  const cb = 'https://crm.example.com/tiktok/webhook/k'
  const code = async (body: Record<string, unknown>) =>
    (await call(tt, 'POST', 'subscription/subscribe/', body)).body.code

  t.equal(await code({ ...subscribeBody(token, cb, { advertiser_id: adv.id }), secret: 'x' }), 40101)
  t.equal(await code({ ...subscribeBody(token, cb, { advertiser_id: adv.id }), subscribe_entity: 'NOPE' }), 40002)
  t.equal(await code({ ...subscribeBody(token, cb, { advertiser_id: adv.id }), callback_url: undefined }), 40002)
  t.equal(
    await code(subscribeBody(token, 'http://crm.example.com/hook', { advertiser_id: adv.id })),
    40002,
    'http only for loopback',
  )
  t.equal(await code(subscribeBody(token, 'not a url', { advertiser_id: adv.id })), 40002)
  t.equal(await code(subscribeBody(token, cb, {})), 40002, 'advertiser_id required')
  t.equal(await code(subscribeBody('nope', cb, { advertiser_id: adv.id })), 40105)
  t.equal(await code(subscribeBody(token, cb, { advertiser_id: other.id })), 40001)
  t.equal(await code(subscribeBody(token, cb, { advertiser_id: adv.id, page_id: '7400000000000000001' })), 40007)
  t.equal(
    await code(subscribeBody(token, cb, { advertiser_id: adv.id, lead_source: 'DIRECT_MESSAGE', page_id: pageId })),
    40002,
  )

  const a = await call(
    tt,
    'POST',
    'subscription/subscribe/',
    subscribeBody(token, cb, { advertiser_id: adv.id, page_id: pageId }),
  )
  const b = await call(
    tt,
    'POST',
    'subscription/subscribe/',
    subscribeBody(token, cb, { advertiser_id: adv.id, page_id: pageId }),
  )
  t.match(a.body.data.subscription_id, /^\d{19}$/)
  t.not(a.body.data.subscription_id, b.body.data.subscription_id, 'the same subscription twice is two subscriptions')

  const listed = await call(tt, 'GET', 'subscription/get/', {
    app_id: APP.appId,
    secret: APP.appSecret,
    subscribe_entity: 'LEAD',
    page_size: 1,
  })
  t.same(listed.body.data.page_info, { page: 1, page_size: 1, total_number: 2, total_page: 2 })
  t.match(listed.body.data.subscriptions[0], {
    subscription_id: a.body.data.subscription_id,
    subscribe_entity: 'LEAD',
    callback_url: cb,
    subscription_detail: { advertiser_id: adv.id, page_id: pageId, lead_source: 'INSTANT_FORM' },
  })
  t.equal(
    (await call(tt, 'GET', 'subscription/get/', { app_id: APP.appId, secret: APP.appSecret, page_size: 1001 })).body
      .code,
    40002,
  )

  const un = await call(tt, 'POST', 'subscription/unsubscribe/', {
    app_id: APP.appId,
    secret: APP.appSecret,
    subscription_id: a.body.data.subscription_id,
  })
  t.equal(un.body.code, 0)
  tt.deleteSubscription(b.body.data.subscription_id)
  const after = await call(tt, 'GET', 'subscription/get/', {
    app_id: APP.appId,
    secret: APP.appSecret,
    subscribe_entity: 'LEAD',
  })
  t.same(after.body.data.subscriptions, [], 'deleted subscriptions are not listed')
  t.same(
    tt.subscriptions().map((s) => s.valid),
    [false, false],
  )
})

t.test('push: body, big ids intact, signature, duplicates each get it', async (t) => {
  const tt = await startTikTok(t)
  const receiver = await startReceiver(t)
  const adv = tt.addAdvertiser({ id: '7000000000000000001', name: 'Acme' })
  const { pageId } = tt.addForm(adv.id, {
    id: '7480000000000000009',
    title: 'Spring "promo"',
    fields: [{ name: 'name' }, { name: 'email' }, { name: 'Which service?' }],
  })
  const elsewhere = tt.addForm(adv.id, { title: 'Other' })
  const token = await connect(tt)
  await call(tt, 'POST', 'subscription/subscribe/', subscribeBody(token, receiver.url, { advertiser_id: adv.id }))
  await call(
    tt,
    'POST',
    'subscription/subscribe/',
    subscribeBody(token, receiver.url, { advertiser_id: adv.id, page_id: pageId }),
  )
  await call(
    tt,
    'POST',
    'subscription/subscribe/',
    subscribeBody(token, receiver.url, { advertiser_id: adv.id, page_id: elsewhere.pageId }),
  )

  const { leadId } = tt.submitLead(
    pageId,
    { name: 'Ivan', email: 'ivan@example.com', 'Which service?': 'Install, "fast"' },
    {
      createTime: 1743639757,
      campaign: { campaign_id: '1820000000000001', campaign_name: 'Spring' },
    },
  )
  await tt.settled()
  t.equal(receiver.received.length, 2, 'advertiser-wide and page subscriptions get it; the other page does not')
  const got = receiver.received[0]!
  t.match(got.headers['content-type'], /^application\/json/)
  const [, ts, sig] = /^t=(\d+),s=([0-9a-f]{64})$/.exec(String(got.headers['tiktok-signature'])) ?? []
  t.ok(ts && sig, 'TikTok-Signature has t and s')
  const expected = createHmac('sha256', APP.appSecret).update(`${ts}.${got.body}`).digest('hex')
  t.equal(sig, expected, 'HMAC-SHA256(app secret, t.body)')
  t.ok(Math.abs(Number(ts) - Date.now() / 1000) < 5)

  t.match(got.body, new RegExp(`"id":${leadId},`), 'lead id as a bare number')
  t.match(got.body, /"advertiser_id":7000000000000000001,/, 'all 19 digits')
  t.match(got.body, /"page_id":7480000000000000009,/)
  const parsed = JSON.parse(got.body)
  t.match(parsed, { object: 1, time: Number, request_id: /\w+/ })
  t.match(parsed.entry[0], {
    lead_source: 'INSTANT_FORM',
    page_name: 'Spring "promo"',
    advertiser_name: 'Acme',
    campaign_name: 'Spring',
    create_time: 1743639757,
    changes: [
      { field: 'name', value: 'Ivan' },
      { field: 'email', value: 'ivan@example.com' },
      { field: 'Which service?', value: 'Install, "fast"' },
    ],
  })
  t.match(tt.deliveries, [
    { attempt: 1, status: 200, outcome: 'delivered', leadIds: [leadId] },
    { attempt: 1, status: 200 },
  ])
})

t.test('numericIds false sends strings', async (t) => {
  const tt = await startTikTok(t, { numericIds: false })
  const receiver = await startReceiver(t)
  const { pageId } = await subscribedForm(tt, receiver.url)
  const { leadId } = tt.submitLead(pageId, { name: 'A' })
  await tt.settled()
  t.match(receiver.received[0]?.body, new RegExp(`"id":"${leadId}"`))
})

t.test('retry with backoff on 500, then success', async (t) => {
  const tt = await startTikTok(t, { retry: FAST })
  const receiver = await startReceiver(t, [500, 503])
  const { pageId } = await subscribedForm(tt, receiver.url)
  const started = Date.now()
  tt.submitLead(pageId, { name: 'A' })
  await tt.settled()
  t.match(tt.deliveries, [
    { attempt: 1, status: 500, outcome: 'retry' },
    { attempt: 2, status: 503, outcome: 'retry' },
    { attempt: 3, status: 200, outcome: 'delivered' },
  ])
  t.ok(Date.now() - started >= 20 + 40, 'waited 20 ms, then 40 ms')
  t.equal(receiver.received.length, 3)
})

t.test('gives up after the window; network errors count as failures', async (t) => {
  const tt = await startTikTok(t, { retry: FAST })
  // Nothing listens on port 9 of loopback: connection refused.
  const { pageId } = await subscribedForm(tt, 'http://127.0.0.1:9/hook')
  tt.submitLead(pageId, { name: 'A' })
  await tt.settled()
  // Delays 20, 40, 80 (sum 140 ≤ 150); the next (160) would pass the window.
  t.same(
    tt.deliveries.map((d) => [d.attempt, d.status, d.outcome]),
    [
      [1, 0, 'retry'],
      [2, 0, 'retry'],
      [3, 0, 'retry'],
      [4, 0, 'gave_up'],
    ],
  )
})

t.test('revoked token: 40105, subscription invalid, no more pushes (pending retries stop too)', async (t) => {
  const tt = await startTikTok(t, { retry: { firstDelayMs: 50, factor: 2, windowMs: 10_000 } })
  const receiver = await startReceiver(t, [500])
  const { adv, pageId, token } = await subscribedForm(tt, receiver.url)
  tt.submitLead(pageId, { name: 'A' })
  await new Promise((r) => setTimeout(r, 20))
  tt.revokeAdvertiserAccess(adv.id)
  await tt.settled()
  t.equal(receiver.received.length, 1, 'the retry was dropped')
  t.equal(tt.deliveries[0]?.outcome, 'gave_up')
  tt.submitLead(pageId, { name: 'B' })
  await tt.settled()
  t.equal(receiver.received.length, 1, 'no push after revocation')
  t.equal((await call(tt, 'GET', 'page/get/', { advertiser_id: adv.id }, { token })).body.code, 40105)
  t.same(
    tt.subscriptions().map((s) => s.valid),
    [false],
  )
  const listed = await call(tt, 'GET', 'subscription/get/', {
    app_id: APP.appId,
    secret: APP.appSecret,
    subscribe_entity: 'LEAD',
  })
  t.same(listed.body.data.subscriptions, [])
})

t.test('deleted subscription is not pushed', async (t) => {
  const tt = await startTikTok(t)
  const receiver = await startReceiver(t)
  const { pageId, res } = await subscribedForm(tt, receiver.url)
  tt.deleteSubscription(res.body.data.subscription_id)
  tt.submitLead(pageId, { name: 'A' })
  await tt.settled()
  t.equal(receiver.received.length, 0)
})
