/**
 * Nothing was ever deleted: every lead's raw TikTok payload, the answers (name, phone, e-mail) of
 * leads long delivered to Bitrix24, and every stored Bitrix24 event stayed in the file forever.
 * Now RETENTION_DAYS (default 90) bounds them: a background purge, in small batches, empties the
 * raw payload of finished leads, the answers of delivered and duplicate ones (they live in
 * Bitrix24), and deletes old portal events. Pending leads and failed leads' answers (a person may
 * still re-send them) stay; RETENTION_DAYS=0 keeps everything. (A portal may also choose its own
 * retention in the settings tab: data-retention-portal.test.ts.)
 */
import t from 'tap'
import { sql } from 'kysely'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { installedPortalRow, STORED_ANSWERS, storedLead } from '../fixtures.js'
import { testConfig } from '../helpers.js'

const DAY = 86_400_000
const NOW = Date.parse('2026-06-01T00:00:00Z')

async function appWith(t: { teardown(fn: () => unknown): void }, days?: number, batchSize = 2) {
  const database = openDatabase(':memory:')
  await migrateToLatest(database.db)
  const app = await buildApp({
    config: testConfig(null, days === undefined ? {} : { RETENTION_DAYS: days }),
    database,
    logger: false,
    autoStartDelivery: false,
    tiktok: { schedule: false },
    retention: { schedule: false, batchSize, pauseMs: 0 },
  })
  t.teardown(() => app.close())
  await app.portals.upsertInstalled(installedPortalRow(), true)
  return app
}

const answers = STORED_ANSWERS
const leadJson = (id: string) => JSON.stringify(storedLead(id, { answers }))

type Status = 'received' | 'queued' | 'delivered' | 'duplicate' | 'failed'
async function addLead(
  app: Awaited<ReturnType<typeof appWith>>,
  id: string,
  status: Status,
  doneDaysAgo: number | null,
) {
  const at = NOW - (doneDaysAgo ?? 200) * DAY
  await app.db
    .insertInto('leads')
    .values({
      member_id: 'm1',
      tiktok_lead_id: id,
      format: 'notification',
      status,
      lead_json: leadJson(id),
      raw_json: `{"raw":"${id}","phone":"+84912345678"}`,
      received_at: at,
      updated_at: at,
      done_at: doneDaysAgo === null ? null : at,
    })
    .execute()
}

t.test('RETENTION_DAYS defaults to 90 and 0 is allowed (keep everything)', async (t) => {
  t.equal(loadConfig({}).RETENTION_DAYS, 90)
  t.equal(loadConfig({ RETENTION_DAYS: '0' }).RETENTION_DAYS, 0)
  t.throws(() => loadConfig({ RETENTION_DAYS: '-1' }))
})

t.test(
  'old finished leads lose their raw payload, delivered ones their answers; old events go; the rest stays',
  async (t) => {
    const app = await appWith(t)
    for (let i = 0; i < 5; i++) await addLead(app, `old-delivered-${i}`, 'delivered', 91 + i)
    await addLead(app, 'old-duplicate', 'duplicate', 120)
    await addLead(app, 'old-failed', 'failed', 120)
    await addLead(app, 'old-pending', 'queued', null)
    await addLead(app, 'young-delivered', 'delivered', 10)
    for (const [event, daysAgo] of [
      ['OLD1', 100],
      ['OLD2', 95],
      ['NEW', 5],
    ] as const) {
      await app.db
        .insertInto('portal_events')
        .values({ member_id: 'm1', event, payload: '{}', received_at: new Date(NOW - daysAgo * DAY).toISOString() })
        .execute()
    }

    const result = await app.retention.runOnce(NOW)
    t.same(result, { leads: 7, events: 2 }, 'several batches of 2')
    const rows = new Map((await app.db.selectFrom('leads').selectAll().execute()).map((r) => [r.tiktok_lead_id, r]))
    for (const id of ['old-delivered-0', 'old-delivered-4', 'old-duplicate']) {
      t.equal(rows.get(id)!.raw_json, '', `${id}: raw payload purged`)
      t.same(JSON.parse(rows.get(id)!.lead_json).answers, [], `${id}: answers purged`)
      t.equal(JSON.parse(rows.get(id)!.lead_json).leadId, id, `${id}: the log line stays`)
    }
    t.equal(rows.get('old-failed')!.raw_json, '', 'a failed lead loses its raw payload')
    t.same(JSON.parse(rows.get('old-failed')!.lead_json).answers, answers, 'but keeps its answers for a re-send')
    t.not(rows.get('old-pending')!.raw_json, '', 'a pending lead keeps everything')
    t.not(rows.get('young-delivered')!.raw_json, '', 'a young lead keeps everything')
    t.same(
      (await app.db.selectFrom('portal_events').select('event').execute()).map((e) => e.event),
      ['NEW'],
    )
    t.same(await app.retention.runOnce(NOW), { leads: 0, events: 0 }, 'a second pass has nothing to do')

    // Each batch reads only what it changes: the purge query uses the partial index.
    const plan = await sql<{
      detail: string
    }>`explain query plan select id from leads where member_id = ${'m1'} and raw_json != '' and done_at < ${NOW} and status in ('delivered', 'duplicate', 'failed') order by done_at limit 2`.execute(
      app.db,
    )
    t.match(plan.rows.map((r) => r.detail).join(' '), /leads_retention_member/)
  },
)

t.test('RETENTION_DAYS=0 keeps everything', async (t) => {
  const app = await appWith(t, 0)
  await addLead(app, 'ancient', 'delivered', 3000)
  t.same(await app.retention.runOnce(NOW), { leads: 0, events: 0 })
  t.not((await app.db.selectFrom('leads').select('raw_json').executeTakeFirst())!.raw_json, '')
})

t.test('intake goes on while a purge runs: batches leave room between them', async (t) => {
  const app = await appWith(t, 90, 50)
  for (let i = 0; i < 400; i++) await addLead(app, `d-${i}`, 'delivered', 100)
  const order: string[] = []
  const purge = app.retention.runOnce(NOW).then((r) => {
    order.push('purge done')
    return r
  })
  const stored = await app.leads.insertMany(
    'm1',
    [{ tiktokLeadId: 'fresh', format: 'notification', isTest: false, leadJson: leadJson('fresh'), rawJson: '{}' }],
    { scheme: 'test', valid: true },
  )
  order.push('lead stored')
  t.equal(stored, 1)
  t.equal((await purge).leads, 400)
  t.same(order, ['lead stored', 'purge done'], 'the lead did not wait for the whole purge')
})
