import t from 'tap'
import { installedPortal, startApp, startEmulator, waitFor, type Teardown } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'

async function setup(t: Teardown, emuOpts = {}, appOpts: Parameters<typeof startApp>[1] = {}) {
  const emu = await startEmulator(t, emuOpts)
  const started = await startApp(t, { emu, ...appOpts })
  const portal = await installedPortal(emu, started.url)
  const conf = (await started.app.settings.find(portal.memberId))!
  return { emu, ...started, portal, conf }
}

const leadAdds = (emu: any, memberId: string) =>
  emu.calls.filter((c: any) => c.memberId === memberId && c.method === 'crm.lead.add')

t.test('a signed webhook becomes exactly one Bitrix24 lead with the mapped fields', async (t) => {
  const { app, url, portal, conf } = await setup(t)
  await app.settings.update(portal.memberId, { default_country: 'VN' })
  const lead = sampleLead({ extra: { 'What budget do you have?': 'Over $1000' } })
  const res = await postWebhook(url, conf.webhook_key, notificationBody([lead]), { secret: conf.signing_secret })
  t.equal(res.status, 200)
  t.match(await res.json(), { ok: true, received: 1, stored: 1, duplicates: 0 })
  const stored = await app.leads.findByTikTokId(portal.memberId, lead.id)
  t.equal(stored!.tiktok_lead_id, lead.id, 'all 19 digits of the id kept')
  t.equal(stored!.verify_scheme, 'tiktok-signature')
  t.equal(stored!.verify_valid, 1)

  await waitFor(
    'lead delivered',
    async () => (await app.leads.findByTikTokId(portal.memberId, lead.id))?.status === 'delivered',
  )
  t.equal(portal.leads.size, 1)
  const b24 = [...portal.leads.values()][0]!
  // VN writes the family name first: Nguyen is the family name.
  t.equal(b24.NAME, 'Van An')
  t.equal(b24.LAST_NAME, 'Nguyen')
  t.match(b24.PHONE, [{ VALUE: '+84912345678', VALUE_TYPE: 'WORK' }])
  t.match(b24.EMAIL, [{ VALUE: 'an@example.com', VALUE_TYPE: 'WORK' }])
  t.equal(b24.TITLE, 'TikTok lead: Spring promo form')
  t.equal(b24.ORIGIN_ID, lead.id)
  t.equal(b24.ORIGINATOR_ID, 'b24_tiktok_leads')
  t.equal(b24.UTM_SOURCE, 'tiktok')
  t.equal(b24.UTM_CAMPAIGN, 'Spring campaign')
  t.match(String(b24.COMMENTS), /What budget do you have\?.*Over \$1000/s)
  const final = await app.leads.findByTikTokId(portal.memberId, lead.id)
  t.equal(Number(final!.b24_lead_id), Number(b24.ID))
})

t.test('the same TikTok lead delivered twice is acknowledged twice and stored and sent once', async (t) => {
  const { emu, app, url, portal, conf } = await setup(t)
  const body = notificationBody([sampleLead()])
  const a = await postWebhook(url, conf.webhook_key, body, { secret: conf.signing_secret })
  t.match(await a.json(), { stored: 1 })
  await waitFor('delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 1)
  const b = await postWebhook(url, conf.webhook_key, body, { secret: conf.signing_secret })
  t.equal(b.status, 200)
  t.match(await b.json(), { stored: 0, duplicates: 1 })
  await new Promise((r) => setTimeout(r, 200))
  t.equal(portal.leads.size, 1)
  t.equal(leadAdds(emu, portal.memberId).length, 1)
})

t.test('several leads in one POST are separate leads', async (t) => {
  const { app, url, portal, conf } = await setup(t)
  const res = await postWebhook(url, conf.webhook_key, notificationBody([sampleLead(), sampleLead(), sampleLead()]), {
    secret: conf.signing_secret,
  })
  t.match(await res.json(), { received: 3, stored: 3 })
  await waitFor('3 delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 3)
  t.equal(portal.leads.size, 3)
})

t.test('verification: log-only accepts and records, enforce refuses and stores nothing', async (t) => {
  const { app, url, portal, conf } = await setup(t)
  const bad = notificationBody([sampleLead()])
  const r1 = await postWebhook(url, conf.webhook_key, bad, { secret: 'wrong-secret' })
  t.equal(r1.status, 200, 'log-only mode accepts')
  const rows = await app.leads.latest(portal.memberId, { limit: 10 })
  t.equal(rows[0]!.verify_valid, 0)
  t.equal((await app.settings.find(portal.memberId))!.last_verify_scheme, 'tiktok-signature')

  await app.settings.update(portal.memberId, { verify_mode: 'enforce' })
  const before = (await app.leads.latest(portal.memberId, { limit: 100 })).length
  const r2 = await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { secret: 'wrong-secret' })
  t.equal(r2.status, 401)
  const old = Math.floor(Date.now() / 1000) - 3600
  const r3 = await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), {
    secret: conf.signing_secret,
    t: old,
  })
  t.equal(r3.status, 401, 'a replayed (hour-old) signature is refused')
  t.match(await r3.json(), { message: /old|timestamp/i })
  t.equal((await app.leads.latest(portal.memberId, { limit: 100 })).length, before, 'nothing stored')
  const r4 = await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { secret: conf.signing_secret })
  t.equal(r4.status, 200, 'a good signature passes in enforce mode')
})

t.test('a rotated secret keeps the old one working for the grace period', async (t) => {
  const { app, url, portal, conf } = await setup(t)
  await app.settings.update(portal.memberId, { verify_mode: 'enforce' })
  const rotated = await app.settings.rotateSecret(portal.memberId, 60_000)
  t.not(rotated.signing_secret, conf.signing_secret)
  t.equal(
    (await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { secret: conf.signing_secret }))
      .status,
    200,
  )
  t.equal(
    (await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { secret: rotated.signing_secret }))
      .status,
    200,
  )
  await app.settings.rotateSecret(portal.memberId, -1)
  t.equal(
    (await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { secret: conf.signing_secret }))
      .status,
    401,
    'grace over',
  )
})

t.test('bad bodies: malformed JSON, wrong shape, unknown key, too large, non-lead objects', async (t) => {
  const { app, url, portal, conf } = await setup(t, {}, { config: { BODY_LIMIT_BYTES: 8192 } })
  // The code says what kind of refusal it is; the message names what was wrong, for the sender.
  const cases: Array<[string, string, number, string, RegExp]> = [
    ['not JSON', '{"object":1,', 400, 'APP_ERR_BAD_REQUEST', /JSON/],
    ['entry without id', '{"object":1,"entry":[{"changes":[]}]}', 400, 'APP_ERR_TIKTOK_BODY', /entry\[0\]\.id/],
    ['a string', '"hello"', 400, 'APP_ERR_TIKTOK_BODY', /object/],
    [
      'too large',
      JSON.stringify({ object: 1, entry: [], pad: 'x'.repeat(10_000) }),
      413,
      'APP_ERR_BODY_TOO_LARGE',
      /./,
    ],
  ]
  for (const [name, body, status, code, message] of cases) {
    const res = await postWebhook(url, conf.webhook_key, body, { secret: conf.signing_secret })
    t.equal(res.status, status, name)
    const answer = await res.json()
    t.equal(answer.error, code, name)
    t.match(answer.message, message, name)
  }
  const unknown = await postWebhook(url, 'x'.repeat(43), notificationBody([sampleLead()]), null)
  t.equal(unknown.status, 404)
  const review = await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()], { object: 3 }), {
    secret: conf.signing_secret,
  })
  t.equal(review.status, 200)
  t.match(await review.json(), { ignored: /review/ })
  t.same(await app.leads.latest(portal.memberId, { limit: 10 }), [])
})

t.test('500 leads arriving at once go out in about 10 batch calls, never over the rate', async (t) => {
  // A bucket of 5 instead of 50: any burst beyond the 2/s pace would be refused at once.
  const { emu, app, url, portal, conf } = await setup(t, { burst: 5 })
  const leads = Array.from({ length: 500 }, () => sampleLead())
  const posts = []
  for (let i = 0; i < 500; i += 25)
    posts.push(
      postWebhook(url, conf.webhook_key, notificationBody(leads.slice(i, i + 25)), { secret: conf.signing_secret }),
    )
  for (const r of await Promise.all(posts)) t.equal(r.status, 200)
  await waitFor('500 delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 500, 30_000)
  const batches = emu.calls.filter((c) => c.memberId === portal.memberId && c.method === 'batch' && !c.inBatch)
  const addBatches = batches.filter((b) => JSON.stringify(b.params).includes('crm.lead.add'))
  t.ok(addBatches.length >= 10 && addBatches.length <= 13, `batch calls: ${addBatches.length}`)
  t.equal(emu.counters.rateLimited, 0, 'no QUERY_LIMIT_EXCEEDED, even with a bucket of 5')
  const top = emu.calls.filter((c) => c.memberId === portal.memberId && !c.inBatch).map((c) => c.at)
  // 2 per rolling second: n requests need at least (n - 2) / 2 seconds between the first and the last
  const spanS = (Math.max(...top) - Math.min(...top)) / 1000
  t.ok(top.length <= 2 * spanS + 2.2, `${top.length} requests in ${spanS.toFixed(2)} s`)
  t.equal(portal.leads.size, 500)
  t.equal(new Set([...portal.leads.values()].map((l) => l.ORIGIN_ID)).size, 500, 'each lead once')
})
