/**
 * The analytics phase of `npm run bench` (`--only=analytics`): 1,000,000 TikTok leads of one portal
 * inserted straight into a fresh, migrated SQLite file (one transaction, one prepared statement),
 * with a day's spend cached for every campaign, ad group and ad; then the analytics query timed per
 * level (campaign, ad group, ad, form) over the whole period, and the CSV export at ad level (the
 * most rows) read to the end through the same stream the route sends, with the process's peak RSS
 * and heap beside it: a file far larger than the memory it takes proves it streams.
 * Runs in this process (no app, no HTTP) through the runner the routes use, so on its worker
 * thread: what is measured is the SQL, the CSV writer and the messages between the threads, and
 * beside them the main thread's longest event-loop delay meanwhile (what intake would wait).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createAnalyticsRunner } from '../src/analytics/runner.js'
import { MAX_ROWS } from '../src/analytics/view.js'
import { openDatabase } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrate.js'
import type { AnalyticsLevel, AnalyticsPeriod } from '../src/db/repositories/analytics.js'
import { portalTableRow } from '../test/fixtures.js'

export const ANALYTICS_LEADS = 1_000_000

export interface AnalyticsBench {
  leads: number
  insertMs: number
  /** per level: the query's time over the whole period (ms) and the rows it gave */
  levels: Record<AnalyticsLevel, { ms: number; rows: number }>
  /** the main thread's longest event-loop delay while the four queries ran (ms) */
  loopMaxMs: number
  csvMs: number
  csvRows: number
  csvMb: number
  /** RSS and heap before the export and at their peak during it (MB) */
  csvRssMbBefore: number
  csvRssMbPeak: number
  csvHeapMbBefore: number
  csvHeapMbPeak: number
}

const MB = 1024 * 1024
const DAY_MS = 86_400_000
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d

export async function runAnalytics(opts: {
  leads?: number
  log: (msg: string) => void
  /** keep the database in this folder (to look at it after), instead of a temporary one */
  keepIn?: string
}): Promise<AnalyticsBench> {
  const n = opts.leads ?? ANALYTICS_LEADS
  const dir = opts.keepIn ?? mkdtempSync(join(tmpdir(), 'b24tl-analytics-'))
  const { db, sqlite } = openDatabase(join(dir, 'app.sqlite'))
  try {
    await migrateToLatest(db)
    const memberId = 'bench-analytics'
    await db.insertInto('portals').values(portalTableRow(memberId)).execute()

    // 50 campaigns, 1,000 ad groups, 100,000 ads (10 leads each), 20 forms, over 300 days.
    const ads = Math.max(1, Math.floor(n / 10))
    const groups = Math.max(1, Math.floor(ads / 100))
    const campaigns = Math.max(1, Math.floor(groups / 20))
    const start = Date.parse('2026-01-01T00:00:00Z')
    const spanMs = 300 * DAY_MS
    opts.log(`  inserting ${n.toLocaleString()} leads`)
    const t0 = performance.now()
    const insert = sqlite.prepare(`
      insert into leads (member_id, tiktok_lead_id, format, status, lead_json, raw_json, received_at, done_at, updated_at,
        b24_stage_id, b24_stage_semantic, first_contact_at, advertiser_id, campaign_id, adgroup_id, ad_id, page_id,
        campaign_name, adgroup_name, ad_name, form_name)
      values (@m, @id, 'notification', @status, '{}', '', @at, @done, @at, @stage, @sem, @contact, '7100000000000000001',
        @c, @g, @a, @f, @cn, @gn, @an, @fn)`)
    sqlite.transaction(() => {
      for (let i = 0; i < n; i++) {
        const a = i % ads
        const g = a % groups
        const c = g % campaigns
        const f = i % 20
        const at = start + Math.floor((i / n) * spanMs)
        const outcome = i % 10
        const sem = outcome < 4 ? null : outcome < 7 ? 'P' : outcome < 9 ? 'S' : 'F'
        const failed = outcome === 3
        insert.run({
          m: memberId,
          id: `L${i}`,
          status: failed ? 'failed' : 'delivered',
          at,
          done: at + 2000,
          stage:
            sem === 'P'
              ? i % 3 === 0
                ? 'NEW'
                : 'IN_PROCESS'
              : sem === 'S'
                ? 'CONVERTED'
                : sem === 'F'
                  ? 'JUNK'
                  : null,
          sem,
          contact: sem && !failed ? at + 2000 + (i % 3600) * 1000 : null,
          c: `18${String(c).padStart(14, '0')}`,
          g: `19${String(g).padStart(14, '0')}`,
          a: `17${String(a).padStart(14, '0')}`,
          f: `73${String(f).padStart(14, '0')}`,
          cn: `Campaign ${c}, "spring"`,
          gn: `Ad group ${g}`,
          an: `Ad ${a}`,
          fn: `Form ${f}`,
        })
      }
    })()
    // A day of spend for every entity, as the cache holds it after TikTok answered.
    const spend = sqlite.prepare(
      `insert into tiktok_spend (advertiser_id, level, day, entity_id, spend, impressions, clicks)
       values ('7100000000000000001', @level, '2026-03-01', @id, @spend, 1000, 10)`,
    )
    sqlite.transaction(() => {
      for (let c = 0; c < campaigns; c++)
        spend.run({ level: 'campaign', id: `18${String(c).padStart(14, '0')}`, spend: 100 })
      for (let g = 0; g < groups; g++)
        spend.run({ level: 'adgroup', id: `19${String(g).padStart(14, '0')}`, spend: 10 })
      for (let a = 0; a < ads; a++) spend.run({ level: 'ad', id: `17${String(a).padStart(14, '0')}`, spend: 1.25 })
    })()
    sqlite.exec('analyze')
    const insertMs = Math.round(performance.now() - t0)
    opts.log(`  inserted in ${insertMs} ms`)

    const runner = createAnalyticsRunner(sqlite)
    const period = (level: AnalyticsLevel, member = memberId): AnalyticsPeriod => ({
      memberId: member,
      level,
      fromMs: start,
      toMs: start + spanMs,
      advertiserBounds: [],
      fromDay: '2026-01-01',
      toDay: '2026-10-28',
      spendAdvertisers: ['7100000000000000001'],
    })
    // The worker starts (and, under tsx, compiles) on first use: started here, not timed.
    await runner.top(period('campaign', 'nobody'), MAX_ROWS)
    const levels = {} as AnalyticsBench['levels']
    const loop = monitorEventLoopDelay({ resolution: 10 })
    loop.enable()
    for (const level of ['campaign', 'adgroup', 'ad', 'form'] as const) {
      // The JSON answer's path: the first 1,000 groups and the totals over all of them.
      const t1 = performance.now()
      const top = await runner.top(period(level), MAX_ROWS)
      levels[level] = { ms: Math.round(performance.now() - t1), rows: top.totals.groups }
      opts.log(`  ${level}: ${top.totals.groups.toLocaleString()} rows in ${levels[level].ms} ms`)
    }
    loop.disable()
    const loopMaxMs = Math.round(loop.max / 1e6)
    opts.log(`  main thread's longest event-loop delay meanwhile: ${loopMaxMs} ms`)

    // The CSV export at ad level, to a sink that only counts: RSS and heap sampled while it runs.
    global.gc?.()
    const before = process.memoryUsage()
    let peakRss = before.rss
    let peakHeap = before.heapUsed
    const sample = setInterval(() => {
      const m = process.memoryUsage()
      peakRss = Math.max(peakRss, m.rss)
      peakHeap = Math.max(peakHeap, m.heapUsed)
    }, 20)
    let bytes = 0
    let lines = 0
    const t2 = performance.now()
    await pipeline(
      runner.csv(period('ad')),
      new Writable({
        // Counted on the bytes: a string made of each chunk here would be the sink's heap, not the export's.
        write(chunk: Buffer, _enc, cb) {
          bytes += chunk.length
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++
          cb()
        },
      }),
    )
    const csvMs = Math.round(performance.now() - t2)
    clearInterval(sample)
    const after = process.memoryUsage()
    peakRss = Math.max(peakRss, after.rss)
    peakHeap = Math.max(peakHeap, after.heapUsed)
    const result: AnalyticsBench = {
      leads: n,
      insertMs,
      levels,
      loopMaxMs,
      csvMs,
      // header and names without line breaks: one line per row
      csvRows: lines - 1,
      csvMb: round(bytes / MB),
      csvRssMbBefore: round(before.rss / MB),
      csvRssMbPeak: round(peakRss / MB),
      csvHeapMbBefore: round(before.heapUsed / MB),
      csvHeapMbPeak: round(peakHeap / MB),
    }
    await runner.close()
    return result
  } finally {
    await db.destroy()
    if (!opts.keepIn) rmSync(dir, { recursive: true, force: true })
  }
}
