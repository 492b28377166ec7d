/**
 * The analytics leave the main thread. better-sqlite3 is synchronous: the grouping query ran on
 * the main thread and held the event loop for its whole run (about a second over a million leads),
 * TikTok's webhooks and /health included. For a database file it now runs in a worker thread on a
 * read-only connection of its own; an in-memory database (which no other thread can open) keeps
 * the in-thread path. Shown on the same leads: while the worker runs the query the event loop
 * turns (setImmediate callbacks run), while the in-thread query runs it does not; both give the
 * same numbers; and over HTTP /health answers while an analytics request is in flight.
 */
import SQLite from 'better-sqlite3'
import t from 'tap'
import { createAnalyticsRunner } from '../../src/analytics/runner.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import type { AnalyticsLevel, AnalyticsPeriod } from '../../src/db/repositories/analytics.js'
import { portalTableRow } from '../fixtures.js'
import { startApp, startEmulator, tempDbPath, installedPortal, openTab, api } from '../helpers.js'

const N = 50_000
const START = Date.parse('2026-01-01T00:00:00Z')
const DAY_MS = 86_400_000

/** N leads of one portal straight into the file (one transaction): 10 per ad, 100 ads per ad group. */
function bulkLeads(file: string, memberId: string, n: number): void {
  const db = new SQLite(file)
  try {
    const insert = db.prepare(`
      insert into leads (member_id, tiktok_lead_id, format, status, lead_json, raw_json, received_at, done_at,
        updated_at, b24_stage_id, b24_stage_semantic, first_contact_at, advertiser_id, campaign_id, adgroup_id, ad_id,
        page_id, campaign_name, adgroup_name, ad_name, form_name)
      values (@m, @id, 'notification', 'delivered', '{}', '', @at, @at + 1000, @at, @stage, @sem, @contact,
        '7100000000000000001', @c, @g, @a, 'form', 'Campaign', 'Group', 'Ad', 'Form')`)
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const a = i % (n / 10)
        const sem = ['P', 'S', 'F', null][i % 4]!
        insert.run({
          m: memberId,
          id: `L${i}`,
          at: START + (i % 30) * DAY_MS,
          stage: sem === 'P' ? 'IN_PROCESS' : sem === 'S' ? 'CONVERTED' : sem === 'F' ? 'JUNK' : null,
          sem,
          contact: sem ? START + (i % 30) * DAY_MS + 1000 + (i % 600) * 1000 : null,
          c: `c${a % 50}`,
          g: `g${a % 1000}`,
          a: `a${a}`,
        })
      }
    })()
  } finally {
    db.close()
  }
}

const period = (memberId: string, level: AnalyticsLevel): AnalyticsPeriod => ({
  memberId,
  level,
  fromMs: START,
  toMs: START + 30 * DAY_MS,
  advertiserBounds: [],
  fromDay: '2026-01-01',
  toDay: '2026-01-31',
  spendAdvertisers: [],
})

/** setImmediate callbacks that ran while `run` was in flight (none while the thread was blocked). */
async function turnsWhile<T>(run: () => Promise<T>): Promise<{ turns: number; result: T }> {
  let turns = 0
  let on = true
  const tick = () => {
    if (!on) return
    turns++
    setImmediate(tick)
  }
  setImmediate(tick)
  await new Promise((r) => setImmediate(r))
  const from = turns
  try {
    const result = await run()
    return { turns: turns - from, result }
  } finally {
    on = false
  }
}

t.test('the worker leaves the event loop free; the in-thread path blocks it; same numbers', async (t) => {
  const file = tempDbPath()
  const opened = openDatabase(file)
  t.teardown(() => opened.db.destroy())
  await migrateToLatest(opened.db)
  await opened.db.insertInto('portals').values(portalTableRow('m1')).execute()
  bulkLeads(file, 'm1', N)

  const worker = createAnalyticsRunner(opened.sqlite)
  t.teardown(() => worker.close())
  t.equal(worker.offThread, true, 'a database file: off the main thread')
  // The same leads in memory: what tests and the in-thread path use.
  // (The file is in WAL mode, which a memory database cannot be: the header's format bytes 18-19
  // say legacy instead, as the file format allows.)
  const image = opened.sqlite.serialize()
  image[18] = 1
  image[19] = 1
  const memory = new SQLite(image)
  t.teardown(() => memory.close())
  const inThread = createAnalyticsRunner(memory)
  t.equal(inThread.offThread, false)

  await worker.top(period('nobody', 'campaign'), 10) // the worker started, outside the measure
  const off = await turnsWhile(() => worker.top(period('m1', 'ad'), 1000))
  const on = await turnsWhile(() => inThread.top(period('m1', 'ad'), 1000))
  t.ok(off.turns >= 10, `the event loop turned ${off.turns} times while the worker grouped ${N} leads`)
  t.equal(on.turns, 0, 'the in-thread query held the event loop throughout')
  t.equal(off.result.totals.groups, N / 10)
  t.same(off.result, on.result, 'the same groups and totals')
  t.match(off.result.totals, { leads: N, delivered: N, contacted: (N * 3) / 4, qualified: N / 2, converted: N / 4 })

  // The CSV from the worker: every group, in the order of the JSON rows.
  const chunks: string[] = []
  for await (const c of worker.csv(period('m1', 'ad'))) chunks.push(String(c))
  const lines = chunks.join('').split('\r\n').filter(Boolean)
  t.equal(lines.length, 1 + N / 10, 'header and every group')
  t.equal(lines[1]!.split(',')[1], off.result.rows[0]!.id, 'first row first')
})

t.test('over HTTP: /health answers while an analytics request is in flight', async (t) => {
  const file = tempDbPath()
  const emu = await startEmulator(t)
  const started = await startApp(t, { emu, config: { DATABASE_PATH: file } })
  const portal = await installedPortal(emu, started.url)
  bulkLeads(file, portal.memberId, N)
  const tab = api(started.url, await openTab(started.url, portal))
  let done = false
  const answer = tab.get('analytics?level=ad&from=2026-01-01&to=2026-01-31').then((r) => {
    done = true
    return r
  })
  let healthy = 0
  while (!done) {
    const res = await fetch(`${started.url}/health`)
    if (res.status === 200 && !done) healthy++
  }
  const res = await answer
  t.equal(res.status, 200)
  const v = (await res.json()) as { totals: { leads: number }; rows: unknown[]; truncated: boolean }
  t.equal(v.totals.leads, N)
  t.equal(v.rows.length, 1000)
  t.equal(v.truncated, true)
  t.ok(healthy >= 1, `/health answered ${healthy} times while the analytics ran`)
})
