/**
 * The settings tab's statistics count by the app's clock: "today" is the clock's UTC day, so a
 * lead delivered before the clock's midnight moves from today to yesterday when the clock passes
 * it, with no real day going by.
 */
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { buildStats } from '../../src/settings/view-model.js'
import { manualClock } from '../app-clock.js'
import { installedPortalRow } from '../fixtures.js'
import { testConfig } from '../helpers.js'

const MINUTE = 60_000

t.test("'today' rolls over at the clock's midnight", async (t) => {
  const clock = manualClock(Date.parse('2026-03-10T23:50:00Z'))
  const database = openDatabase(':memory:')
  await migrateToLatest(database.db)
  const app = await buildApp({
    config: testConfig(null),
    database,
    clock,
    logger: false,
    autoStartDelivery: false,
    tiktok: { schedule: false },
    retention: { schedule: false },
  })
  t.teardown(() => app.close())
  await app.portals.upsertInstalled(installedPortalRow(), true)
  // Received at 23:40 and delivered at 23:45 on the clock's 10 March.
  const receivedAt = clock.now() - 10 * MINUTE
  await app.db
    .insertInto('leads')
    .values({
      member_id: 'm1',
      tiktok_lead_id: 'l1',
      format: 'notification',
      status: 'delivered',
      lead_json: '{}',
      raw_json: '{}',
      received_at: receivedAt,
      updated_at: receivedAt + 5 * MINUTE,
      done_at: receivedAt + 5 * MINUTE,
    })
    .execute()

  const before = await buildStats(app, 'm1')
  t.match(before.today, { received: 1, delivered: 1, medianDeliveryMs: 5 * MINUTE }, 'today on the clock')
  t.equal(before.days[6]!.date, '2026-03-10')

  await clock.advance(20 * MINUTE) // 00:10 on 11 March, by the clock only
  const after = await buildStats(app, 'm1')
  t.match(after.today, { received: 0, delivered: 0, medianDeliveryMs: null }, 'a new day on the clock')
  t.equal(after.days[6]!.date, '2026-03-11')
  t.match(after.days[5], { date: '2026-03-10', received: 1, delivered: 1 }, 'the lead is yesterday now')
  t.match(after.week, { received: 1, delivered: 1 }, 'and still in the week')
})
