/**
 * The retention purge reads time from the app's clock, not the machine's: its cutoff (the
 * portal's retention before the clock's now) and its hourly timer both follow `app.clock`, so a
 * test moves a day forward without waiting one.
 */
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { manualClock } from '../app-clock.js'
import { installedPortalRow } from '../fixtures.js'
import { type Teardown, testConfig, waitFor } from '../helpers.js'

const DAY = 86_400_000
const HOUR = 3_600_000

async function appAt(t: Teardown, schedule: boolean) {
  const clock = manualClock(Date.parse('2026-06-01T00:00:00Z'))
  const database = openDatabase(':memory:')
  await migrateToLatest(database.db)
  const app = await buildApp({
    config: testConfig(null, { RETENTION_DAYS: 90 }),
    database,
    clock,
    logger: false,
    autoStartDelivery: false,
    tiktok: { schedule: false },
    retention: { schedule, intervalMs: HOUR },
  })
  t.teardown(() => app.close())
  await app.portals.upsertInstalled(installedPortalRow(), true)
  // Delivered 90 days less half an hour before the clock's now: kept for half an hour more.
  const doneAt = clock.now() - 90 * DAY + HOUR / 2
  await app.db
    .insertInto('leads')
    .values({
      member_id: 'm1',
      tiktok_lead_id: 'l1',
      format: 'notification',
      status: 'delivered',
      lead_json: JSON.stringify({ leadId: 'l1', answers: [{ key: 'name', value: 'An' }] }),
      raw_json: '{"raw":"l1"}',
      received_at: doneAt,
      updated_at: doneAt,
      done_at: doneAt,
    })
    .execute()
  const rawJson = async () => (await app.db.selectFrom('leads').select('raw_json').executeTakeFirstOrThrow()).raw_json
  return { app, clock, rawJson }
}

t.test("runOnce's cutoff is the clock's now minus the retention", async (t) => {
  const { app, clock, rawJson } = await appAt(t, false)
  t.same(await app.retention.runOnce(), { leads: 0, events: 0 }, "at the clock's now the lead is not 90 days old")
  t.equal(await rawJson(), '{"raw":"l1"}')
  await clock.advance(DAY)
  t.same(await app.retention.runOnce(), { leads: 1, events: 0 }, 'a day later on the clock it is past 90 days')
  t.equal(await rawJson(), '')
})

t.test('the background purge runs on the clock: first after a minute, then hourly', async (t) => {
  const { app, clock, rawJson } = await appAt(t, true)
  await app.ready()
  await clock.advance(60_000)
  await app.retention.runOnce() // joins the pass the timer started (or repeats it at the same time)
  t.equal(await rawJson(), '{"raw":"l1"}', 'the first pass, a minute after start on the clock, keeps the lead')
  // An hour later on the clock (no real hour passes) the next pass finds it past 90 days.
  await clock.advance(HOUR)
  await waitFor('purged by the hourly pass', async () => (await rawJson()) === '')
})
