/**
 * `npm run bench [-- --json] [-- --quick] [-- --only=<phase>]`: the app (a child process, as in
 * production) against the Bitrix24 emulator with the real leaky bucket (2 requests/s drain, burst
 * 50), on 127.0.0.1 only. Phases: latency, intake, sustained, portals, rss, backfill (the TikTok lead
 * export import, bench/backfill.ts), operating (the operating-limit ratio, bench/operating.ts), web
 * (the settings tab's bundle and first paint, bench/web.ts), analytics (the analytics query per level and
 * the CSV export over 1,000,000 leads, in-process, bench/analytics.ts).
 * Prints a table (bench/report.ts); with --json also one JSON object on the last line. Every load
 * loop is bounded. The app runs as a child process (bench/app-process.ts); the webhook bodies,
 * installs and seeded backlogs are in bench/load.ts.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import SQLite from 'better-sqlite3'
import { signTikTokSignature } from '../src/tiktok/verify.js'
import { buildEmulator, type Portal } from '../test/emulator/index.js'
import { freePort } from '../test/helpers.js'
import { AppProcess } from './app-process.js'
import { ANALYTICS_LEADS, runAnalytics } from './analytics.js'
import { BACKFILL_LEADS, runBackfill } from './backfill.js'
import { agent, body, creationTimes, hookOf, install, seed, sendLeads } from './load.js'
import { BASKET_S, runOperating } from './operating.js'
import { printReport } from './report.js'
import { bundleSizes, firstPaint } from './web.js'

const args = new Set(process.argv.slice(2))
const JSON_OUT = args.has('--json')
const QUICK = args.has('--quick')
/** --only=intake (etc.) runs one phase, for working on it */
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice(7)
const phase = (name: string) => !ONLY || ONLY === name
const SUSTAIN_S = QUICK ? 15 : 60
const PORTALS = QUICK ? 50 : 200
const PORTAL_WINDOW_S = QUICK ? 8 : 12
const BACKLOG = QUICK ? 200_000 : 1_000_000
/** --backfill-leads=N: the backfill phase's export size (default 10,000), to see how memory scales */
/** --analytics-leads=N: the analytics phase's lead count (default 1,000,000) */
const ANALYTICS_N = Number(process.argv.find((a) => a.startsWith('--analytics-leads='))?.slice(18) ?? ANALYTICS_LEADS)
const BACKFILL_N = Number(process.argv.find((a) => a.startsWith('--backfill-leads='))?.slice(17) ?? BACKFILL_LEADS)
/** --operating-windows=k: the operating phase measures k limit-worths after the first (default 1) */
const OPERATING_WINDOWS = Number(process.argv.find((a) => a.startsWith('--operating-windows='))?.slice(20) ?? 1)
/** add costs (server seconds per crm.lead.add) the operating phase runs at (issue 9); --operating-costs=0.3 for one */
const OPERATING_COSTS = (process.argv.find((a) => a.startsWith('--operating-costs='))?.slice(18) ?? '0.05,0.3')
  .split(',')
  .map(Number)
const CLIENT_ID = 'bench.app'
const CLIENT_SECRET = 'bench-secret-0123456789'

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)
/** Each figure is also logged as it is measured, so a failing later phase loses nothing. */
const results: Record<string, number> = new Proxy({} as Record<string, number>, {
  set(target, key, value) {
    log(`  ${String(key)} = ${value}`)
    target[key as string] = value
    return true
  },
})
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN
}

async function main(): Promise<void> {
  // These phases measure the request bucket: the emulator's operating limit (on by default, 0.1–0.5 s
  // per crm.lead.add) would stop the 10,000-lead phases after ~1,600 leads for ten minutes, so adds
  // cost 1 ms here. The operating-limit ratio is its own phase (7., bench/operating.ts).
  const emu = await buildEmulator({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    drainRate: 2,
    burst: 50,
    operating: { costSec: { 'crm.lead.add': [0.0005, 0.001] } },
  })
  await emu.listen(0)
  const port = await freePort()
  const dbPath = join(mkdtempSync(join(tmpdir(), 'b24tl-bench-')), 'app.sqlite')
  const url = `http://127.0.0.1:${port}`
  // The per-key webhook budget (600/min) would measure the 429s, not the intake: lift it here.
  const baseEnv = {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_PATH: dbPath,
    LOG_LEVEL: 'error',
    WEBHOOK_MAX_REQUESTS_PER_MIN: '10000000',
    WEBHOOK_MAX_BYTES_PER_MIN: '107374182400',
    B24_CLIENT_ID: CLIENT_ID,
    B24_CLIENT_SECRET: CLIENT_SECRET,
    B24_OAUTH_URL: emu.oauthUrl,
    SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
  }
  const app = new AppProcess(baseEnv, url)
  await app.start()
  results.limit_leads_per_s = 2 * 50

  // 1. Lone-lead latency: one lead at a time, with the portal's budget free.
  if (phase('latency')) {
    log('lone-lead latency')
    const lone = await install(emu, url)
    const loneHook = hookOf(dbPath, lone.memberId)
    await sleep(1500)
    const latencies: number[] = []
    for (let i = 0; i < (QUICK ? 10 : 20); i++) {
      const started = Date.now()
      const { done, ids } = sendLeads(url, loneHook, 1)
      await done
      const id = ids[0]!
      for (let w = 0; w < 200 && !creationTimes(emu, lone.memberId).has(id); w++) await sleep(5)
      latencies.push((creationTimes(emu, lone.memberId).get(id) ?? NaN) - started)
      await sleep(700)
    }
    results.lone_lead_latency_ms_p50 = pct(latencies, 50)
    results.lone_lead_latency_ms_p99 = pct(latencies, 99)
  }

  // 2. Intake: signed one-lead webhooks (each a new lead) from 32 connections for a bounded time.
  //    autocannon generates the load: Node's own http client cannot, and would measure itself.
  if (phase('intake')) {
    log('intake')
    const intakePortal = await install(emu, url)
    const intakeHook = hookOf(dbPath, intakePortal.memberId)
    const duration = QUICK ? 5 : 10
    const run = await autocannon({
      url: `${url}/tiktok/webhook/${intakeHook.key}`,
      connections: 32,
      duration,
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => {
            const b = body(1).text
            return {
              ...req,
              body: b,
              headers: {
                'content-type': 'application/json',
                'tiktok-signature': signTikTokSignature(intakeHook.secret, b, Math.floor(Date.now() / 1000)),
              },
            }
          },
        },
      ],
    })
    results.intake_req_per_s = Math.round(run['2xx'] / duration)
    results.intake_ack_ms_p99 = run.latency.p99
    results.intake_refused = run.non2xx + run.errors + run.timeouts
  }

  // 3. Sustained: one portal, a backlog that never runs dry, measured over SUSTAIN_S seconds.
  if (phase('sustained')) {
    log(`sustained (${SUSTAIN_S} s)`)
    const sustained = await install(emu, url)
    const sHook = hookOf(dbPath, sustained.memberId)
    for (let i = 0; i < 40; i++) await sendLeads(url, sHook, 50).done
    let feeding = true
    const feeder = (async () => {
      while (feeding) {
        await sendLeads(url, sHook, 50).done
        await sleep(400)
      }
    })()
    await sleep(5000)
    const c0 = sustained.leads.size
    const t0 = Date.now()
    await sleep(SUSTAIN_S * 1000)
    const c1 = sustained.leads.size
    results.sustained_leads_per_s = Math.round(((c1 - c0) / ((Date.now() - t0) / 1000)) * 10) / 10
    feeding = false
    await feeder
    results.sustained_share_of_limit =
      Math.round((results.sustained_leads_per_s / results.limit_leads_per_s) * 1000) / 1000
  }

  // 4. Many portals at once: each with its own backlog; the worst portal's rate over its limit.
  if (phase('portals')) {
    log(`${PORTALS} portals`)
    const many: Portal[] = []
    for (let i = 0; i < PORTALS; i++) many.push(await install(emu, url))
    await app.stop()
    const perPortal = 100 * (PORTAL_WINDOW_S + 10)
    seed(
      dbPath,
      many.map((p) => p.memberId),
      perPortal,
    )
    await app.start()
    await sleep(3000)
    const before = new Map(many.map((p) => [p.memberId, p.leads.size]))
    const pt0 = Date.now()
    await sleep(PORTAL_WINDOW_S * 1000)
    const secs = (Date.now() - pt0) / 1000
    const rates = many.map((p) => (p.leads.size - before.get(p.memberId)!) / secs)
    results.portals = PORTALS
    results.portal_min_share = Math.round((Math.min(...rates) / 100) * 1000) / 1000
    results.portal_median_share = Math.round((pct(rates, 50) / 100) * 1000) / 1000
    results.portals_total_leads_per_s = Math.round(rates.reduce((a, b) => a + b, 0))
    await app.stop()
  }

  // 5. Memory with a large pending backlog.
  if (phase('rss')) {
    log(`RSS with ${BACKLOG.toLocaleString()} pending leads`)
    // Start from no pending work (earlier phases leave backlogs), so only this portal's backlog counts.
    await app.stop()
    const db = new SQLite(dbPath)
    db.prepare("delete from leads where status in ('received','queued','sending')").run()
    db.close()
    await app.start()
    const big = await install(emu, url)
    await app.stop()
    seed(dbPath, [big.memberId], BACKLOG)
    await app.start()
    await sleep(15_000)
    results.pending_backlog = BACKLOG
    results.rss_mb_with_backlog = Math.round(app.peakRssMb)
    await app.stop()
  }

  // 6. TikTok backfill: the lead export of a form with BACKFILL_LEADS leads imported into a fresh
  //    app process (its own database, connected to its own TikTok emulator); once as CSV, once zipped.
  if (phase('backfill')) {
    log(`TikTok backfill (${BACKFILL_N.toLocaleString()} leads)`)
    await app.stop()
    const makeApp = (env: Record<string, string>, appUrl: string) => new AppProcess({ ...baseEnv, ...env }, appUrl)
    const csv = await runBackfill({ emu, makeApp, zip: false, leads: BACKFILL_N, log })
    if (csv.fileType !== 'csv') throw new Error(`the export came as ${csv.fileType}, expected csv`)
    results.backfill_leads_per_s = csv.leadsPerS
    results.backfill_leads = BACKFILL_N
    results.backfill_first_row_ms = csv.firstRowMs
    results.backfill_request_ms = csv.requestMs
    results.backfill_rss_mb_before = csv.rssMbBefore
    results.backfill_rss_mb_peak = csv.rssMbPeak
    results.backfill_rss_mb_delta = Math.round((csv.rssMbPeak - csv.rssMbBefore) * 10) / 10
    const zip = await runBackfill({ emu, makeApp, zip: true, leads: BACKFILL_N, log })
    if (zip.fileType !== 'zip') throw new Error(`the export came as ${zip.fileType}, expected zip`)
    results.backfill_zip_leads_per_s = zip.leadsPerS
    results.backfill_zip_rss_mb_peak = zip.rssMbPeak
    results.backfill_zip_rss_mb_delta = Math.round((zip.rssMbPeak - zip.rssMbBefore) * 10) / 10
  }

  // 7. The operating limit: the steady rate over its ceiling at two add costs, each case with its
  //    own emulator (time scaled 10x), app process and database.
  if (phase('operating')) {
    log(`operating limit (basket ${BASKET_S} s: time scaled ${60 / BASKET_S}x)`)
    const makeApp = (env: Record<string, string>, appUrl: string) => new AppProcess({ ...baseEnv, ...env }, appUrl)
    for (const cost of OPERATING_COSTS) {
      const r = await runOperating({
        cost,
        windows: OPERATING_WINDOWS,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        makeApp,
        seed,
        log,
      })
      const k = `operating_c${String(cost).replace('.', '')}`
      results[`${k}_ceiling_leads_per_s`] = Math.round(r.ceiling * 100) / 100
      results[`${k}_leads_per_s`] = Math.round(r.leadsPerS * 100) / 100
      results[`${k}_ratio`] = Math.round(r.ratio * 1000) / 1000
      results[`${k}_burst_s`] = Math.round(r.burstS * 10) / 10
      results[`${k}_burst_leads`] = r.burstLeads
      results[`${k}_refused`] = r.refused
      results[`${k}_refused_batches`] = r.refusedBatches
      results[`${k}_spins`] = r.spins
      results[`${k}_batches`] = r.batches
      results[`${k}_leads`] = r.leads
      results[`${k}_delivered`] = r.delivered
      results[`${k}_duplicates`] = r.duplicates
      results[`${k}_dropped`] = r.dropped
      results[`${k}_pending_at_stop`] = r.pending
    }
  }

  // 8. The settings tab (issue 12): bundle sizes from the build, first paint in chromium.
  if (phase('web')) {
    log('settings tab: bundle and first paint')
    const sizes = bundleSizes()
    results.web_js_gzip_kb = sizes.jsKb
    results.web_css_gzip_kb = sizes.cssKb
    results.web_lazy_gzip_kb = sizes.lazyKb
    // A fresh app process serves the build just made (a running one keeps the files it found at start).
    await app.stop()
    const tab = new AppProcess(baseEnv, url)
    await tab.start()
    const paint = await firstPaint(emu, url)
    results.web_first_paint_ms = paint.fcpMs
    results.web_usable_ms = paint.usableMs
    results.web_shell_ms = paint.shellMs
    results.web_script_ms = paint.scriptMs
    await tab.stop()
  }

  // 9. Analytics (issue 10): the query per level and the CSV export over ANALYTICS_N leads, measured
  //    in this process on a fresh database of its own (bench/analytics.ts).
  if (phase('analytics')) {
    log(`analytics over ${ANALYTICS_N.toLocaleString()} leads`)
    const a = await runAnalytics({ leads: ANALYTICS_N, log })
    results.analytics_leads = a.leads
    results.analytics_insert_ms = a.insertMs
    results.analytics_campaign_ms = a.levels.campaign.ms
    results.analytics_adgroup_ms = a.levels.adgroup.ms
    results.analytics_ad_ms = a.levels.ad.ms
    results.analytics_ad_rows = a.levels.ad.rows
    results.analytics_form_ms = a.levels.form.ms
    results.analytics_loop_max_ms = a.loopMaxMs
    results.analytics_csv_ms = a.csvMs
    results.analytics_csv_rows = a.csvRows
    results.analytics_csv_mb = a.csvMb
    results.analytics_csv_rss_mb_before = a.csvRssMbBefore
    results.analytics_csv_rss_mb_delta = Math.round((a.csvRssMbPeak - a.csvRssMbBefore) * 10) / 10
    results.analytics_csv_heap_mb_delta = Math.round((a.csvHeapMbPeak - a.csvHeapMbBefore) * 10) / 10
  }

  results.rate_limit_errors = emu.counters.rateLimited
  await app.stop()
  await emu.close()
  agent.destroy()

  printReport({
    results,
    backlog: BACKLOG,
    backfillLeads: BACKFILL_N,
    operatingCosts: OPERATING_COSTS,
    basketS: BASKET_S,
  })
  if (JSON_OUT) console.log(JSON.stringify(results))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
