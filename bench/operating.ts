/**
 * The bench's `operating` phase (issue 9): how close the app gets to the ceiling Bitrix24's
 * operating limit sets, with add cost c (server seconds per `crm.lead.add`):
 *
 *   ceiling = min(100, limit / (window · c)) leads/s, once the first limit-worth of time is spent
 *
 * (100 = the request bucket: 2 batches/s × 50). Time is scaled: a basket of BASKET_S seconds
 * (Bitrix24: 60), so a window of 10 baskets and a limit of 0.8 of the window (Bitrix24: 480 of
 * 600 s). limit/window is kept, so the ceiling at a given c is the real one and c keeps its real
 * value; the app is told the scaled limit (B24_OPERATING_LIMIT_S). Costs jitter ±40 % around c.
 *
 * One case: its own emulator, app process and database; a portal with a backlog seeded into the
 * database before the app starts (no intake on the cores). Measured at the emulator:
 * - L = limit / c leads spend one limit-worth of time. Each limit-worth comes back one window after
 *   it was spent, so the steady rate is L leads per window at best: measured as L / (t(L/2 + L) -
 *   t(L/2)), t(n) being when the n-th lead was created: from the middle of the first limit-worth
 *   (spent in a burst at the request bucket's rate) to the middle of the second, which comes only
 *   once the first limit is spent and its baskets leave. Every second the app lets the budget idle
 *   after a reset, or spends holding after a refusal, shows here; a few leads more or less in a
 *   limit-worth (cost jitter) move a mid-burst time by milliseconds only. (--operating-windows=k:
 *   k limit-worths after the first, k·L / (t(L/2 + k·L) - t(L/2)).)
 * - refused: OPERATION_TIME_LIMIT answers (the emulator's counter; a 429 or a refused command);
 *   spins: batches whose commands were all refused right after another such batch (sent while the
 *   app should have been holding); batch calls; duplicates and drops once the backlog is done.
 * Every wait is bounded.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SQLite from 'better-sqlite3'
import { buildEmulator } from '../test/emulator/index.js'
import { freePort } from '../test/helpers.js'
import type { ChildApp } from './backfill.js'

/** Bitrix24's basket is 60 s; here time runs 10× faster. */
export const BASKET_S = 6
const WINDOW_S = BASKET_S * 10
/** 480 / 600 of the window, as on Bitrix24 */
const LIMIT_S = WINDOW_S * 0.8
const JITTER = 0.4
const RATE_CEILING = 100

export interface OperatingRun {
  cost: number
  ceiling: number
  leadsPerS: number
  ratio: number
  /** the first burst (spending the first limit): seconds from its first lead to its last, and its leads */
  burstS: number
  burstLeads: number
  leads: number
  delivered: number
  duplicates: number
  dropped: number
  /** still queued when the app was stopped (their reset had not come yet) */
  pending: number
  refused: number
  refusedBatches: number
  spins: number
  batches: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function runOperating(opts: {
  cost: number
  windows: number
  clientId: string
  clientSecret: string
  makeApp: (env: Record<string, string>, url: string) => ChildApp
  seed: (dbPath: string, memberIds: string[], perPortal: number) => void
  log: (msg: string) => void
}): Promise<OperatingRun> {
  const { cost, log } = opts
  const ceiling = Math.min(RATE_CEILING, LIMIT_S / (WINDOW_S * cost))
  const limitLeads = Math.round(LIMIT_S / cost)
  // Ends a quarter of a limit-worth after the last measured lead, inside the same burst.
  const total = Math.round(limitLeads * (opts.windows + 0.75))
  const emu = await buildEmulator({
    clientId: opts.clientId,
    clientSecret: opts.clientSecret,
    drainRate: 2,
    burst: 50,
    operating: {
      basketSec: BASKET_S,
      limitSec: LIMIT_S,
      costSec: { 'crm.lead.add': [cost * (1 - JITTER), cost * (1 + JITTER)] },
    },
  })
  await emu.listen(0)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const dbPath = join(mkdtempSync(join(tmpdir(), 'b24tl-bench-operating-')), 'app.sqlite')
  const app = opts.makeApp(
    { PORT: String(port), DATABASE_PATH: dbPath, B24_OAUTH_URL: emu.oauthUrl, B24_OPERATING_LIMIT_S: String(LIMIT_S) },
    url,
  )
  try {
    await app.start()
    const portal = emu.createPortal()
    const installed = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
    if (installed.status !== 200) throw new Error(`install failed ${installed.status} ${installed.body}`)
    await app.stop()
    opts.seed(dbPath, [portal.memberId], total)
    log(
      `  c = ${cost} s: ${total.toLocaleString()} leads, ceiling ${ceiling.toFixed(2)} leads/s, first limit = ${limitLeads} leads`,
    )
    await app.start()

    const created = () =>
      emu.calls.filter((c) => c.memberId === portal.memberId && c.method === 'crm.lead.add' && c.status === 200)
    const from = Math.round(limitLeads / 2)
    const target = from + limitLeads * opts.windows
    // Bounded: the burst at the bucket's rate, k windows, and as much again for slack.
    const deadline = Date.now() + (target / RATE_CEILING + opts.windows * WINDOW_S * 2 + 30) * 1000
    while (portal.leads.size < target && Date.now() < deadline) await sleep(200)
    const adds = created()
    if (adds.length < target) throw new Error(`only ${adds.length} of ${target} leads created in time`)
    const t0 = adds[0]!.at
    if (process.env.BENCH_TRACE) {
      // Per second from the first lead: adds run / refused (a trace for working on the pacing).
      const per = new Map<number, [number, number]>()
      for (const c of emu.calls) {
        if (c.memberId !== portal.memberId || c.method !== 'crm.lead.add') continue
        const sec = Math.floor((c.at - t0) / 1000)
        const v = per.get(sec) ?? [0, 0]
        v[c.status === 200 ? 0 : 1] += 1
        per.set(sec, v)
      }
      log(`  trace s:run/refused ${[...per].map(([k, [a, b]]) => `${k}:${a}${b ? `/${b}` : ''}`).join(' ')}`)
    }
    // The first burst: until the first pause longer than a basket (the app holding for the reset).
    let burstEnd = 0
    while (burstEnd + 1 < adds.length && adds[burstEnd + 1]!.at - adds[burstEnd]!.at < BASKET_S * 1000) burstEnd++
    const leadsPerS = (limitLeads * opts.windows) / ((adds[target - 1]!.at - adds[from - 1]!.at) / 1000)

    // The rest come in the same burst; any left wait for the next reset (pending, not lost).
    const drainUntil = Date.now() + 15_000
    while (portal.leads.size < total && Date.now() < drainUntil) await sleep(200)
    await app.stop()
    const db = new SQLite(dbPath, { readonly: true })
    const count = (status: string) =>
      db
        .prepare('select count(*) n from leads where member_id = ? and status = ?')
        .pluck()
        .get(portal.memberId, status) as number
    const failed = count('failed')
    const pending = count('received') + count('queued') + count('sending')
    const deliveredIds = new Set(
      (
        db
          .prepare("select tiktok_lead_id id from leads where member_id = ? and status = 'delivered'")
          .pluck()
          .all(portal.memberId) as string[]
      ).map(String),
    )
    db.close()
    const origins = [...portal.leads.values()].map((l) => String(l.ORIGIN_ID))
    const unique = new Set(origins)
    // Dropped: failed in the app, marked delivered with no lead in Bitrix24, or gone.
    const missing = [...deliveredIds].filter((id) => !unique.has(id)).length
    const gone = Math.max(0, total - unique.size - pending - failed)

    const { refusedBatches, spins, batches } = batchesOf(emu.calls, portal.memberId)
    return {
      cost,
      ceiling,
      leadsPerS,
      ratio: leadsPerS / ceiling,
      burstS: (adds[burstEnd]!.at - t0) / 1000,
      burstLeads: burstEnd + 1,
      leads: total,
      delivered: unique.size,
      duplicates: origins.length - unique.size,
      dropped: failed + missing + gone,
      pending,
      refused: emu.counters.operatingRefused,
      refusedBatches,
      spins,
      batches,
    }
  } finally {
    await app.stop()
    await emu.close()
  }
}

interface Call {
  at: number
  memberId: string
  method: string
  params: unknown
  status: number
  inBatch?: boolean
}

/**
 * Each `crm.lead.add` command is matched to its batch by ORIGIN_ID (the latest batch that started
 * before it and carries that lead). A batch is refused when none of its adds ran; a spin is a
 * refused batch that follows another refused batch with no add run between them.
 */
function batchesOf(calls: Call[], memberId: string): { refusedBatches: number; spins: number; batches: number } {
  const list: Array<{ at: number; origins: Set<string>; ran: number; refused: number }> = []
  const byOrigin = new Map<string, number[]>()
  for (const c of calls) {
    if (c.memberId !== memberId) continue
    if (c.method === 'batch' && !c.inBatch) {
      const cmd = (c.params as { cmd?: Record<string, string> }).cmd ?? {}
      const origins = new Set<string>()
      for (const command of Object.values(cmd)) {
        if (!String(command).startsWith('crm.lead.add')) continue
        const origin = new URLSearchParams(String(command).slice(String(command).indexOf('?') + 1)).get(
          'fields[ORIGIN_ID]',
        )
        if (origin) origins.add(origin)
      }
      if (origins.size === 0) continue
      const i = list.push({ at: c.at, origins, ran: 0, refused: 0 }) - 1
      for (const o of origins) byOrigin.set(o, [...(byOrigin.get(o) ?? []), i])
      continue
    }
    if (c.method !== 'crm.lead.add' || !c.inBatch) continue
    const origin = String((c.params as { fields?: { ORIGIN_ID?: string } }).fields?.ORIGIN_ID ?? '')
    const idx = (byOrigin.get(origin) ?? []).filter((i) => list[i]!.at <= c.at).pop()
    if (idx === undefined) continue
    if (c.status === 200) list[idx]!.ran += 1
    else if (c.status === 429) list[idx]!.refused += 1
  }
  let refusedBatches = 0
  let spins = 0
  let lastRefused = false
  for (const b of list) {
    const refused = b.ran === 0 && b.refused > 0
    if (refused) {
      refusedBatches += 1
      if (lastRefused) spins += 1
    }
    if (b.ran > 0) lastRefused = false
    else if (refused) lastRefused = true
  }
  return { refusedBatches, spins, batches: list.length }
}
