/**
 * RETENTION_DAYS was one number for the whole server. Now each portal's administrator picks its own
 * in the settings tab (30, 90, 180, 365 days or keep everything; none = the server default), and the
 * purge goes portal by portal with that portal's value, still in small batches on a partial index.
 */
import t from 'tap'
import { sql } from 'kysely'
import { buildApp } from '../../src/app.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { fmt } from '../../src/settings/i18n.js'
import { installedPortalRow, STORED_ANSWERS, storedLead } from '../fixtures.js'
import { api, installedPortal, openTab, startApp, startEmulator, testConfig } from '../helpers.js'

const DAY = 86_400_000
const NOW = Date.parse('2026-06-01T00:00:00Z')
type App = Awaited<ReturnType<typeof buildApp>>

async function appWith(t: { teardown(fn: () => unknown): void }, days: number, portals: Record<string, number | null>) {
  const database = openDatabase(':memory:')
  await migrateToLatest(database.db)
  const app = await buildApp({
    config: testConfig(null, { RETENTION_DAYS: days }),
    database,
    logger: false,
    autoStartDelivery: false,
    tiktok: { schedule: false },
    retention: { schedule: false, batchSize: 2, pauseMs: 0 },
  })
  t.teardown(() => app.close())
  for (const [m, retention] of Object.entries(portals)) {
    await app.portals.upsertInstalled(installedPortalRow(m, `${m}.bitrix24.com`), true)
    const conf = await app.settings.ensure(m)
    await app.settings.update(m, { verify_mode: conf.verify_mode, retention_days: retention })
  }
  return app
}

const answers = STORED_ANSWERS
const leadJson = (id: string) => JSON.stringify(storedLead(id, { answers }))

async function addLead(app: App, m: string, id: string, doneDaysAgo: number, nowMs = NOW) {
  const at = nowMs - doneDaysAgo * DAY
  await app.db
    .insertInto('leads')
    .values({
      member_id: m,
      tiktok_lead_id: id,
      format: 'notification',
      status: 'delivered',
      lead_json: leadJson(id),
      raw_json: `{"raw":"${id}"}`,
      received_at: at,
      updated_at: at,
      done_at: at,
    })
    .execute()
}
async function addEvent(app: App, m: string, event: string, daysAgo: number) {
  await app.db
    .insertInto('portal_events')
    .values({ member_id: m, event, payload: '{}', received_at: new Date(NOW - daysAgo * DAY).toISOString() })
    .execute()
}
async function kept(
  t: { same(found: unknown, wanted: unknown, message: string): unknown },
  app: App,
): Promise<{ leads: string[]; events: string[] }> {
  const leads = await app.db
    .selectFrom('leads')
    .select(['member_id', 'tiktok_lead_id', 'raw_json', 'lead_json'])
    .orderBy('id')
    .execute()
  for (const l of leads) {
    // A purged delivered lead has neither its raw payload nor its answers.
    if (l.raw_json === '')
      t.same(JSON.parse(l.lead_json).answers, [], `${l.tiktok_lead_id}: answers purged with the payload`)
  }
  const events = await app.db.selectFrom('portal_events').select(['member_id', 'event']).orderBy('id').execute()
  return {
    leads: leads.filter((l) => l.raw_json !== '').map((l) => `${l.member_id}:${l.tiktok_lead_id}`),
    events: events.map((e) => `${e.member_id}:${e.event}`),
  }
}

t.test('portals with different retention settings purge differently', async (t) => {
  // default: the server's 90 days; short: 30; keep: 0 (nothing goes); long: 365
  const app = await appWith(t, 90, { default: null, short: 30, keep: 0, long: 365 })
  for (const m of ['default', 'short', 'keep', 'long']) {
    // oldest first, as they arrive: event ids grow with time
    for (const age of [400, 200, 60, 10]) {
      await addLead(app, m, `${age}d`, age)
      await addEvent(app, m, `E${age}`, age)
    }
  }
  const result = await app.retention.runOnce(NOW)
  t.same(result, { leads: 3 + 2 + 1, events: 3 + 2 + 1 }, 'short: 3, default: 2, long: 1, keep: 0')
  const after = await kept(t, app)
  t.same(after.leads, [
    'default:60d',
    'default:10d',
    'short:10d',
    'keep:400d',
    'keep:200d',
    'keep:60d',
    'keep:10d',
    'long:200d',
    'long:60d',
    'long:10d',
  ])
  t.same(after.events, [
    'default:E60',
    'default:E10',
    'short:E10',
    'keep:E400',
    'keep:E200',
    'keep:E60',
    'keep:E10',
    'long:E200',
    'long:E60',
    'long:E10',
  ])
  t.same(await app.retention.runOnce(NOW), { leads: 0, events: 0 }, 'a second pass has nothing to do')

  // Each portal's batch reads only what it changes, on the per-portal partial index.
  const plan = await sql<{
    detail: string
  }>`explain query plan select id from leads where member_id = ${'short'} and raw_json != '' and done_at < ${NOW} and status in ('delivered', 'duplicate', 'failed') order by done_at limit 2`.execute(
    app.db,
  )
  t.match(plan.rows.map((r) => r.detail).join(' '), /leads_retention_member/)
})

t.test('RETENTION_DAYS=0 keeps everything except where a portal chose a retention of its own', async (t) => {
  const app = await appWith(t, 0, { default: null, short: 30 })
  for (const m of ['default', 'short']) await addLead(app, m, 'old', 3000)
  t.same(await app.retention.runOnce(NOW), { leads: 1, events: 0 })
  t.same((await kept(t, app)).leads, ['default:old'])
})

t.test('the retention option round-trips through the settings API; only administrators change it', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const m = portal.memberId
  const base = { dedup_policy: 'off', rate_per_s: 2, default_country: null, verify_mode: 'log_only' }

  const page = await openTab(url, portal)
  const words = page.boot!.strings
  t.ok(words.retention_label, 'the options section offers it')
  t.equal(
    fmt(words.retention_default, { n: page.boot!.state.options.retention_default_days }),
    'Server default (90 days)',
  )
  const admin = api(url, page)
  t.match(
    await (await admin.get('state')).json(),
    { options: { retention_days: null, retention_default_days: 90 } },
    'none of its own: the server default',
  )

  const saved = await admin.post('options', { ...base, retention_days: 30 })
  t.equal(saved.status, 200)
  t.match(await saved.json(), { options: { retention_days: 30, retention_default_days: 90 } })
  t.equal((await app.settings.find(m))!.retention_days, 30, 'stored')
  t.match(await (await admin.get('state')).json(), { options: { retention_days: 30 } }, 'the tab reads it back')
  t.equal((await openTab(url, portal)).boot?.state.options.retention_days, 30, 'the page shows it selected')

  t.equal((await admin.post('options', { ...base, dedup_policy: 'skip' })).status, 200)
  t.equal((await app.settings.find(m))!.retention_days, 30, 'left out of the body: unchanged')
  for (const bad of [45, -1, '30', 100000])
    t.equal(
      (await admin.post('options', { ...base, retention_days: bad })).status,
      400,
      `${JSON.stringify(bad)} refused`,
    )
  t.equal((await app.settings.find(m))!.retention_days, 30)

  // The purge follows it: a lead delivered 40 days ago goes under 30 days, not under the default 90.
  const now = Date.now()
  await addLead(app, m, 'forty', 40, now)
  t.same((await kept(t, app)).leads, [`${m}:forty`])
  t.equal((await admin.post('options', { ...base, retention_days: null })).status, 200, 'back to the server default')
  t.equal((await app.settings.find(m))!.retention_days, null)
  t.same(await app.retention.runOnce(now), { leads: 0, events: 0 }, 'the default 90 days keep it')
  t.equal((await admin.post('options', { ...base, retention_days: 30 })).status, 200)
  t.equal((await app.retention.runOnce(now)).leads, 1, '30 days purge it')

  t.equal((await admin.post('options', { ...base, retention_days: 0 })).status, 200, 'keep everything')
  t.equal((await app.settings.find(m))!.retention_days, 0)

  // A non-administrator sees the setting but cannot change it.
  const user = api(url, await openTab(url, portal, 2))
  t.match(await (await user.get('state')).json(), { user: { isAdmin: false }, options: { retention_days: 0 } })
  for (const value of [30, null]) {
    const res = await user.post('options', { ...base, retention_days: value })
    t.equal(res.status, 403, `a non-administrator cannot set ${value}`)
  }
  t.equal((await app.settings.find(m))!.retention_days, 0, 'unchanged')
})
