/**
 * Finding: every lead stored the whole raw body again, so one 87 KB POST with 2,000 entries stored
 * 174 MB; 3,277 entries exceeded SQLite's bound-variable limit in one INSERT, and because requests
 * of the same tick share one commit, every request grouped with it answered 500, other portals'
 * included. Now each lead keeps its own slice of the raw body (its entry's JSON text; the whole body
 * when there is one lead), a request may carry at most 100 leads (413 APP_ERR_TOO_MANY_LEADS),
 * inserts go in chunks, and each request has its own savepoint in the group commit.
 */
import t from 'tap'
import { sql } from 'kysely'
import { installedPortal, startApp, startEmulator, type Teardown } from '../helpers.js'
import { leadId, notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { signTikTokSignature } from '../../src/tiktok/verify.js'

async function setup(t: Teardown) {
  const emu = await startEmulator(t)
  const started = await startApp(t, { emu, autoStartDelivery: false })
  const a = await installedPortal(emu, started.url)
  const b = await installedPortal(emu, started.url)
  const confA = (await started.app.settings.find(a.memberId))!
  const confB = (await started.app.settings.find(b.memberId))!
  return { ...started, a, b, confA, confB }
}

/** 2,000 minimal entries: about 90 KB, well inside the body limit. */
const tinyEntries = (n: number) =>
  `{"object":1,"entry":[${Array.from({ length: n }, () => `{"id":${leadId()},"changes":[{"field":"name","value":"x"}]}`).join(',')}]}`

t.test('each lead stores its own entry, not the whole body', async (t) => {
  const { app, url, a, confA } = await setup(t)
  const leads = Array.from({ length: 100 }, () => sampleLead())
  const body = notificationBody(leads)
  const res = await postWebhook(url, confA.webhook_key, body, { secret: confA.signing_secret })
  t.equal(res.status, 200)
  t.match(await res.json(), { received: 100, stored: 100 })
  const rows = await app.db
    .selectFrom('leads')
    .select(['tiktok_lead_id', 'raw_json'])
    .where('member_id', '=', a.memberId)
    .execute()
  t.equal(rows.length, 100)
  const total = rows.reduce((n, r) => n + r.raw_json.length, 0)
  t.ok(total < body.length, `raw bytes stored (${total}) stay below one copy of the body (${body.length})`)
  for (const r of rows) {
    // The entry exactly as TikTok wrote it: the 19-digit id as a bare number, no other lead's id.
    t.ok(r.raw_json.startsWith(`{"id":${r.tiktok_lead_id},`), 'the entry itself')
    t.equal(leads.filter((l) => r.raw_json.includes(l.id)).length, 1, 'only its own lead')
    if (t.passing() === false) break
  }
  const one = sampleLead()
  const single = notificationBody([one])
  await postWebhook(url, confA.webhook_key, single, { secret: confA.signing_secret })
  t.equal((await app.leads.findByTikTokId(a.memberId, one.id))!.raw_json, single, 'a lone lead keeps the whole body')
})

t.test('more than 100 leads in one request is 413 and stores nothing; 2,000 or 3,277 never reach SQLite', async (t) => {
  const { app, url, a, confA } = await setup(t)
  for (const n of [101, 2000, 3277]) {
    const body = tinyEntries(n)
    const res = await postWebhook(url, confA.webhook_key, body, { secret: confA.signing_secret })
    t.equal(res.status, 413, `${n} entries (${body.length} bytes)`)
    t.match(await res.json(), { error: 'APP_ERR_TOO_MANY_LEADS' })
  }
  t.same(await app.leads.latest(a.memberId, { limit: 10 }), [], 'nothing stored')
  const hundred = await postWebhook(url, confA.webhook_key, tinyEntries(100), { secret: confA.signing_secret })
  t.equal(hundred.status, 200, '100 is fine')
})

t.test(
  'a request that fails in the group commit fails alone; other portals in the same commit are stored',
  async (t) => {
    const { app, url, a, b, confA, confB } = await setup(t)
    // Every insert for portal A aborts (as a constraint, a full table or a bug in one request would).
    await sql`create trigger fail_portal_a before insert on leads when new.member_id = ${sql.lit(a.memberId)} begin select raise(abort, 'injected failure for portal A'); end`.execute(
      app.db,
    )

    const signed = (key: string, secret: string) => {
      const body = notificationBody([sampleLead()])
      const ts = Math.floor(Date.now() / 1000)
      return app.inject({
        method: 'POST',
        url: `/tiktok/webhook/${key}`,
        headers: { 'content-type': 'application/json', 'tiktok-signature': signTikTokSignature(secret, body, ts) },
        payload: body,
      })
    }
    // Interleaved and started together, so they land in the same group commits.
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 4 === 0 ? signed(confA.webhook_key, confA.signing_secret) : signed(confB.webhook_key, confB.signing_secret),
      ),
    )
    const status = (i: number) => replies[i]!.statusCode
    t.same(
      replies
        .map((_, i) => i)
        .filter((i) => i % 4 === 0)
        .map(status),
      [500, 500, 500, 500, 500],
      'portal A fails',
    )
    t.same(
      replies
        .map((_, i) => i)
        .filter((i) => i % 4 !== 0)
        .map(status),
      Array(15).fill(200),
      'portal B is stored',
    )
    t.equal((await app.leads.latest(b.memberId, { limit: 100 })).length, 15)
    t.equal((await app.leads.latest(a.memberId, { limit: 100 })).length, 0)
    void url
  },
)
