import type { Clock } from '../clock.js'
import type { SecretBox } from '../crypto/secret-box.js'
import type { DB } from '../db/database.js'
import type { SpendLevel, TikTokConnection } from '../db/schema.js'
import { TikTokApiError } from '../errors.js'
import type { TikTokApi } from '../tiktok-business/api-client.js'
import { addDays, dayRuns, dayStartMs } from './days.js'

/**
 * TikTok's spend, impressions and clicks per ad account, level and day, from
 * `report/integrated/get` (BASIC, by ID and stat_time_day) through the app's TikTok client and so
 * its one app-wide limiter, kept in tiktok_spend / tiktok_spend_days (migration 0014).
 *
 * A day is asked for once and then only while its numbers may still move:
 * - a day whose report was fetched a full day after the day ended is final: never asked again;
 * - today is asked again after TODAY_REFRESH_MS (6 h);
 * - an earlier day fetched before it was final is asked again after a day.
 * The days to ask for are sent in runs of at most 30 days, TikTok's limit for reports by day.
 * Days are UTC here, while TikTok reports in the ad account's time zone [INFERRED: the app does
 * not read the account's zone yet]; days after today are never asked for (nothing is spent yet).
 * @see https://business-api.tiktok.com/portal/docs (Reporting: synchronous reports, report/integrated/get)
 */

export const TODAY_REFRESH_MS = 6 * 3600_000
const DAY_MS = 86_400_000
/** TikTok refuses a report split by day over more than 30 days. */
export const MAX_REPORT_DAYS = 30

export interface SpendTexts {
  notConfigured: string
  noConnection: string
  tokenInvalid: (name: string) => string
  failed: (name: string, why: string) => string
}

export interface SpendDeps {
  db: DB
  /** null when TikTok is not configured on this server */
  api: TikTokApi | null
  box: SecretBox
  clock: Clock
  log: { warn(obj: object, msg: string): void }
}

export interface SpendOutcome {
  /** ad accounts whose spend over the period is stored in full */
  complete: string[]
  /** one plain line per ad account (or reason) whose spend is missing; empty when all is there */
  problems: string[]
}

/** Whether a stored day needs asking again now. */
export function isStale(day: string, fetchedAt: number, now: number): boolean {
  const end = dayStartMs(day) + DAY_MS
  if (fetchedAt >= end + DAY_MS) return false
  if (now < end) return now - fetchedAt >= TODAY_REFRESH_MS
  return now - fetchedAt >= DAY_MS
}

export function createSpendCache(deps: SpendDeps) {
  const { db, clock } = deps

  /** The days of [fromDay, toDay) up to today that are missing or stale for this account and level. */
  async function staleDays(advertiserId: string, level: SpendLevel, fromDay: string, toDay: string, now: number) {
    const today = new Date(now).toISOString().slice(0, 10)
    const last = toDay <= today ? toDay : addDays(today, 1)
    const stored = await db
      .selectFrom('tiktok_spend_days')
      .select(['day', 'fetched_at'])
      .where('advertiser_id', '=', advertiserId)
      .where('level', '=', level)
      .where('day', '>=', fromDay)
      .where('day', '<', last)
      .execute()
    const fetched = new Map(stored.map((r) => [r.day, r.fetched_at]))
    const out: string[] = []
    for (let d = fromDay; d < last; d = addDays(d, 1)) {
      const at = fetched.get(d)
      if (at === undefined || isStale(d, at, now)) out.push(d)
    }
    return out
  }

  /** One run of days asked of TikTok and stored: the days' old numbers replaced, each day marked. */
  async function fetchRun(conn: TikTokConnection, token: string, level: SpendLevel, run: string[], now: number) {
    const api = deps.api!
    const first = run[0]!
    const lastDay = run[run.length - 1]!
    const rows = await api.dailyReport(token, conn.advertiser_id, level, first, lastDay)
    await db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('tiktok_spend')
        .where('advertiser_id', '=', conn.advertiser_id)
        .where('level', '=', level)
        .where('day', '>=', first)
        .where('day', '<=', lastDay)
        .execute()
      const inRun = rows.filter((r) => r.day >= first && r.day <= lastDay)
      for (let i = 0; i < inRun.length; i += 500) {
        await trx
          .insertInto('tiktok_spend')
          .values(
            inRun.slice(i, i + 500).map((r) => ({
              advertiser_id: conn.advertiser_id,
              level,
              day: r.day,
              entity_id: r.entityId,
              spend: r.spend,
              impressions: r.impressions,
              clicks: r.clicks,
            })),
          )
          // TikTok lists an entity once per day; a repeat (paging shifted under us) keeps the last.
          .onConflict((oc) =>
            oc.columns(['advertiser_id', 'level', 'day', 'entity_id']).doUpdateSet((eb) => ({
              spend: eb.ref('excluded.spend'),
              impressions: eb.ref('excluded.impressions'),
              clicks: eb.ref('excluded.clicks'),
            })),
          )
          .execute()
      }
      await trx
        .insertInto('tiktok_spend_days')
        .values(run.map((day) => ({ advertiser_id: conn.advertiser_id, level, day, fetched_at: now })))
        .onConflict((oc) =>
          oc
            .columns(['advertiser_id', 'level', 'day'])
            .doUpdateSet((eb) => ({ fetched_at: eb.ref('excluded.fetched_at') })),
        )
        .execute()
    })
  }

  return {
    /**
     * Make the portal's spend for [fromDay, toDay) at `level` complete in the cache, asking TikTok
     * only for the days missing or stale. A failure costs only that ad account's spend: the
     * answer says which and why, and the lead numbers answer regardless.
     */
    async ensure(
      memberId: string,
      level: SpendLevel,
      fromDay: string,
      toDay: string,
      text: SpendTexts,
    ): Promise<SpendOutcome> {
      if (!deps.api) return { complete: [], problems: [text.notConfigured] }
      const connections = await db
        .selectFrom('tiktok_connections')
        .selectAll()
        .where('member_id', '=', memberId)
        .orderBy('connected_at')
        .execute()
      if (connections.length === 0) return { complete: [], problems: [text.noConnection] }
      const out: SpendOutcome = { complete: [], problems: [] }
      const now = clock.now()
      for (const conn of connections) {
        const name = conn.advertiser_name || conn.advertiser_id
        const days = await staleDays(conn.advertiser_id, level, fromDay, toDay, now)
        if (days.length === 0) {
          out.complete.push(conn.advertiser_id)
          continue
        }
        if (conn.status === 'token_invalid') {
          out.problems.push(text.tokenInvalid(name))
          continue
        }
        try {
          const token = deps.box.open(conn.token_sealed)
          for (const run of dayRuns(days, MAX_REPORT_DAYS)) await fetchRun(conn, token, level, run, now)
          out.complete.push(conn.advertiser_id)
        } catch (err) {
          const why =
            err instanceof TikTokApiError
              ? `${err.message} (code ${err.code})`
              : err instanceof Error
                ? err.message
                : String(err)
          deps.log.warn({ memberId, advertiserId: conn.advertiser_id, level, err: why }, 'TikTok spend report failed')
          out.problems.push(
            err instanceof TikTokApiError && err.kind === 'token_invalid'
              ? text.tokenInvalid(name)
              : text.failed(name, why),
          )
        }
      }
      return out
    },
  }
}

export type SpendCache = ReturnType<typeof createSpendCache>
