/**
 * The overview's counters (buildStats: every page open and every return to the overview): each
 * of the 7 days took two statements for its medians, 34 in a week with deliveries every day; now
 * one statement for all of it, counted here by a Kysely plugin that sees every query. And one
 * median: received → delivered took the lower middle of an even count while delivered → first
 * contact took the mean of the two middles; both are SQLite's median() now (mean of the two).
 */
import type { KyselyPlugin } from 'kysely'
import t from 'tap'
import { systemClock } from '../../src/clock.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { createLeadStatsRepository } from '../../src/db/repositories/lead-stats.js'
import { buildStats } from '../../src/settings/view-model.js'
import { portalTableRow } from '../fixtures.js'

const DAY_MS = 86_400_000
const MIN = 60_000
const NOW = Date.parse('2026-03-10T15:00:00Z')
const TODAY = Date.parse('2026-03-10T00:00:00Z')

t.test(
  'a week with deliveries every day: one statement, medians of even counts are the mean of the middle two',
  async (t) => {
    const opened = openDatabase(':memory:')
    t.teardown(() => opened.db.destroy())
    await migrateToLatest(opened.db)
    await opened.db.insertInto('portals').values(portalTableRow('m1')).execute()
    let n = 0
    const lead = (at: number, deliveryMin: number, contactMin: number | null, status = 'delivered') => ({
      member_id: 'm1',
      tiktok_lead_id: `L${n++}`,
      format: 'notification',
      lead_json: '{}',
      raw_json: '',
      status: status as 'delivered',
      received_at: at,
      done_at: at + deliveryMin * MIN,
      first_contact_at: contactMin === null ? null : at + deliveryMin * MIN + contactMin * MIN,
      updated_at: at,
    })
    const rows = []
    // Every day of the week: deliveries after 1, 2, 4 and 10 minutes (median 3), contacts after 1, 3,
    // 5 minutes and one not yet (median 3), one duplicate and one failure.
    for (let d = 0; d < 7; d++) {
      const at = TODAY - d * DAY_MS + 3600_000
      rows.push(lead(at, 1, 1), lead(at, 2, 3), lead(at, 4, 5), lead(at, 10, null))
      rows.push(lead(at, 1, null, 'duplicate'), lead(at, 1, null, 'failed'))
    }
    // Before the week: not counted.
    rows.push(lead(TODAY - 8 * DAY_MS, 100, 100))
    await opened.db.insertInto('leads').values(rows).execute()

    let statements = 0
    const counter: KyselyPlugin = {
      transformQuery: (args) => {
        statements++
        return args.node
      },
      transformResult: async (args) => args.result,
    }
    const leadStats = createLeadStatsRepository(opened.db.withPlugin(counter))
    const stats = await buildStats({ leadStats, clock: { ...systemClock, now: () => NOW } }, 'm1')
    t.equal(statements, 1, 'one statement for the week')

    t.equal(stats.days.length, 7)
    t.same(
      stats.days.map((d) => d.date),
      Array.from({ length: 7 }, (_, i) => new Date(TODAY - (6 - i) * DAY_MS).toISOString().slice(0, 10)),
    )
    for (const d of stats.days)
      t.match(d, {
        received: 6,
        delivered: 4,
        duplicate: 1,
        failed: 1,
        medianDeliveryMs: 3 * MIN,
        medianFirstContactMs: 3 * MIN,
      })
    t.match(stats.today, { received: 6, delivered: 4, medianDeliveryMs: 3 * MIN })
    t.match(stats.week, {
      received: 42,
      delivered: 28,
      duplicate: 7,
      failed: 7,
      medianDeliveryMs: 3 * MIN,
      medianFirstContactMs: 3 * MIN,
    })
  },
)

t.test('a quiet week: still one statement, medians null', async (t) => {
  const opened = openDatabase(':memory:')
  t.teardown(() => opened.db.destroy())
  await migrateToLatest(opened.db)
  let statements = 0
  const leadStats = createLeadStatsRepository(
    opened.db.withPlugin({
      transformQuery: (args) => {
        statements++
        return args.node
      },
      transformResult: async (args) => args.result,
    }),
  )
  const stats = await buildStats({ leadStats, clock: { ...systemClock, now: () => NOW } }, 'm1')
  t.equal(statements, 1)
  t.match(stats.week, { received: 0, delivered: 0, medianDeliveryMs: null, medianFirstContactMs: null })
})
