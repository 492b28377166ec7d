/**
 * The analytics query reads the level's index of migration 0016 alone: a range of the portal's
 * entries, grouped in the index's order (no sort for the grouping), and every value it needs
 * (the outcome bits, the time to first contact, names, ad account) from the index, never from
 * the table's rows, which hold each lead's JSON and payload. SQLite takes an indexed expression's
 * value only when the query spells the same expression: if the analytics' outcome rule and the
 * migration's copy drift apart, the query silently reads a million table rows again; the bytecode
 * check below catches that (EXPLAIN QUERY PLAN still names the index then).
 */
import t from 'tap'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { analyticsSql } from '../../src/db/repositories/analytics.js'

const LEVELS = ['campaign', 'adgroup', 'ad', 'form'] as const

function params(level: string, zones: number) {
  const p: Record<string, string | number> = { memberId: 'm', fromMs: 0, toMs: 1, limit: 10 }
  for (let i = 0; i < zones; i++) Object.assign(p, { [`a${i}`]: `adv${i}`, [`f${i}`]: 0, [`t${i}`]: 1 })
  if (level !== 'form') Object.assign(p, { fromDay: 'a', toDay: 'b', spendLevel: level, advertisers: '[]' })
  return p
}

t.test('each level: a range of its index, grouped as read, nothing read from the leads table', async (t) => {
  const { db, sqlite } = openDatabase(':memory:')
  t.teardown(() => db.destroy())
  await migrateToLatest(db)
  const root = (
    sqlite.prepare(`select rootpage from sqlite_schema where type = 'table' and name = 'leads'`).get() as {
      rootpage: number
    }
  ).rootpage
  for (const level of LEVELS)
    for (const zones of [0, 2])
      for (const mode of ['view', 'all'] as const) {
        const what = `${level}, ${zones} zones, ${mode}`
        const sql = analyticsSql(level, zones, mode)
        const plan = (
          sqlite.prepare(`explain query plan ${sql}`).all(params(level, zones)) as Array<{ detail: string }>
        ).map((p) => p.detail)
        const index = level === 'form' ? 'leads_analytics_forms' : 'leads_analytics_ads'
        const at = plan.findIndex(
          (d) => d.startsWith(`SEARCH leads USING`) && d.includes(`INDEX ${index} (member_id=?)`),
        )
        t.ok(at >= 0, `${what}: ${plan.join(' | ')}`)
        t.not(plan[at + 1], 'USE TEMP B-TREE FOR GROUP BY', `${what}: grouped as read, no sort`)
        t.notOk(
          plan.some((d) => /SCAN leads\b/.test(d)),
          `${what}: no scan of the leads table`,
        )
        // The bytecode: the leads table is opened (for a seek SQLite defers), but no column is read from it.
        const code = sqlite.prepare(`explain ${sql}`).all(params(level, zones)) as Array<{
          opcode: string
          p1: number
          p2: number
        }>
        const tableCursors = new Set(code.filter((o) => o.opcode === 'OpenRead' && o.p2 === root).map((o) => o.p1))
        const reads = code.filter(
          (o) => ['Column', 'Rowid', 'SeekRowid', 'NotExists'].includes(o.opcode) && tableCursors.has(o.p1),
        )
        t.same(reads, [], `${what}: no value read from the leads table`)
      }
})
