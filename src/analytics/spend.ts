import type { Clock } from '../clock.js'
import type { SecretBox } from '../crypto/secret-box.js'
import type { DB } from '../db/database.js'
import type { AnalyticsLevel } from '../db/repositories/analytics.js'
import type { SpendLevel, TikTokConnection } from '../db/schema.js'
import { TikTokApiError } from '../errors.js'
import type { TikTokApi } from '../tiktok-business/api-client.js'
import { addDays, dayRuns, isTimeZone, UTC, zonedDay, zonedDayStartMs } from './days.js'

/**
 * TikTok's spend, impressions and clicks per ad account, level and day, from
 * `report/integrated/get` (BASIC, by ID and stat_time_day) through the app's TikTok client and so
 * its one app-wide limiter, kept in tiktok_spend / tiktok_spend_days (migration 0014).
 *
 * Days are the ad account's: TikTok reports stat_time_day in the account's time zone, which
 * advertiser/info names (asked once, on first use, and kept on the connection: migration 0016);
 * the analytics count the account's leads over the same days (service.ts).
 *
 * A day is asked for once and then only while its numbers may still move:
 * - a day whose report was fetched a full day after the day ended is final: never asked again;
 * - today is asked again after TODAY_REFRESH_MS (6 h);
 * - an earlier day fetched before it was final is asked again after a day.
 * The days to ask for are sent in runs of at most 30 days, TikTok's limit for reports by day;
 * days after the account's today are never asked for (nothing is spent yet).
 *
 * Concurrent requests share the work: while one is asking TikTok for an ad account's level and
 * period (or its time zone), another asking the same waits for that answer instead of asking again
 * (two tabs opened on the same period cost TikTok one report).
 * @see https://business-api.tiktok.com/portal/docs (Reporting: synchronous reports, report/integrated/get)
 * @see bububa/tiktok-business model/advertiser/advertiser.go (Timezone, DisplayTimezone)
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
  /** the portal's ad accounts (first connected first) and their zones; null where TikTok could not say */
  zones: Array<{ advertiserId: string; zone: string | null }>
}

/** Whether a stored day of an account in `zone` needs asking again now. */
export function isStale(day: string, fetchedAt: number, now: number, zone: string = UTC): boolean {
  const end = zonedDayStartMs(addDays(day, 1), zone)
  if (fetchedAt >= end + DAY_MS) return false
  if (now < end) return now - fetchedAt >= TODAY_REFRESH_MS
  return now - fetchedAt >= DAY_MS
}

/** What one shared piece of work came to; each caller words it in its own language. */
type Result = { kind: 'ok' } | { kind: 'token_invalid' } | { kind: 'failed'; why: string }

function resultOf(err: unknown): Result {
  if (err instanceof TikTokApiError && err.kind === 'token_invalid') return { kind: 'token_invalid' }
  const why =
    err instanceof TikTokApiError
      ? `${err.message} (code ${err.code})`
      : err instanceof Error
        ? err.message
        : String(err)
  return { kind: 'failed', why }
}

export function createSpendCache(deps: SpendDeps) {
  const { db, clock } = deps
  const inFlight = new Map<string, Promise<unknown>>()

  /** The running promise for `key`, or a new one from `work` that others may join until it settles. */
  function shared<T>(key: string, work: () => Promise<T>): Promise<T> {
    const running = inFlight.get(key) as Promise<T> | undefined
    if (running) return running
    const p = work().finally(() => inFlight.delete(key))
    inFlight.set(key, p)
    return p
  }

  /** The days of [fromDay, toDay) up to the account's today that are missing or stale for this account and level. */
  async function staleDays(
    advertiserId: string,
    zone: string,
    level: SpendLevel,
    fromDay: string,
    toDay: string,
    now: number,
  ) {
    const today = zonedDay(now, zone)
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
      if (at === undefined || isStale(d, at, now, zone)) out.push(d)
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

  /**
   * The account's zone: kept on the connection, else asked of TikTok (advertiser/info) and kept.
   * An answer naming no zone the runtime knows is taken as UTC (and logged); a failure is not
   * kept, so the next look asks again.
   */
  function zoneOf(conn: TikTokConnection): Promise<{ zone: string | null; result: Result }> {
    if (conn.time_zone) return Promise.resolve({ zone: conn.time_zone, result: { kind: 'ok' } })
    if (!deps.api || conn.status === 'token_invalid')
      return Promise.resolve({ zone: null, result: { kind: deps.api ? 'token_invalid' : 'ok' } })
    return shared(`zone\0${conn.advertiser_id}`, async () => {
      try {
        const asked = await deps.api!.advertiserTimeZone(deps.box.open(conn.token_sealed), conn.advertiser_id)
        const zone = asked && isTimeZone(asked) ? asked : UTC
        if (zone !== asked)
          deps.log.warn({ advertiserId: conn.advertiser_id, zone: asked }, 'TikTok named no time zone: days are UTC')
        await db
          .updateTable('tiktok_connections')
          .set({ time_zone: zone })
          .where('advertiser_id', '=', conn.advertiser_id)
          .execute()
        return { zone, result: { kind: 'ok' } as Result }
      } catch (err) {
        return { zone: null, result: resultOf(err) }
      }
    })
  }

  /** The account's spend at `level` over [fromDay, toDay) complete in the cache (shared while in flight). */
  function refresh(
    memberId: string,
    conn: TikTokConnection,
    zone: string,
    level: SpendLevel,
    fromDay: string,
    toDay: string,
  ): Promise<Result> {
    const key = [memberId, conn.advertiser_id, level, fromDay, toDay].join('\0')
    return shared(key, async (): Promise<Result> => {
      const now = clock.now()
      const days = await staleDays(conn.advertiser_id, zone, level, fromDay, toDay, now)
      if (days.length === 0) return { kind: 'ok' }
      if (conn.status === 'token_invalid') return { kind: 'token_invalid' }
      try {
        const token = deps.box.open(conn.token_sealed)
        for (const run of dayRuns(days, MAX_REPORT_DAYS)) await fetchRun(conn, token, level, run, now)
        return { kind: 'ok' }
      } catch (err) {
        const result = resultOf(err)
        deps.log.warn(
          {
            memberId,
            advertiserId: conn.advertiser_id,
            level,
            err: result.kind === 'failed' ? result.why : result.kind,
          },
          'TikTok spend report failed',
        )
        return result
      }
    })
  }

  return {
    /**
     * The portal's ad accounts with their zones, and (at campaign, ad group and ad level) their
     * spend for [fromDay, toDay) made complete in the cache, asking TikTok only for the days
     * missing or stale. A failure costs only that ad account's spend: the answer says which and
     * why, and the lead numbers answer regardless.
     */
    async ensure(
      memberId: string,
      level: AnalyticsLevel,
      fromDay: string,
      toDay: string,
      text: SpendTexts,
    ): Promise<SpendOutcome> {
      const connections = await db
        .selectFrom('tiktok_connections')
        .selectAll()
        .where('member_id', '=', memberId)
        .orderBy('connected_at')
        .execute()
      const zoned = await Promise.all(connections.map(async (conn) => ({ conn, ...(await zoneOf(conn)) })))
      const out: SpendOutcome = {
        complete: [],
        problems: [],
        zones: zoned.map((z) => ({ advertiserId: z.conn.advertiser_id, zone: z.zone })),
      }
      if (level === 'form') return out
      if (!deps.api) return { ...out, problems: [text.notConfigured] }
      if (connections.length === 0) return { ...out, problems: [text.noConnection] }
      const results = await Promise.all(
        zoned.map(async ({ conn, zone, result }) =>
          zone === null ? result : refresh(memberId, conn, zone, level, fromDay, toDay),
        ),
      )
      results.forEach((result, i) => {
        const conn = zoned[i]!.conn
        const name = conn.advertiser_name || conn.advertiser_id
        if (result.kind === 'ok') out.complete.push(conn.advertiser_id)
        else if (result.kind === 'token_invalid') out.problems.push(text.tokenInvalid(name))
        else out.problems.push(text.failed(name, result.why))
      })
      return out
    },
  }
}

export type SpendCache = ReturnType<typeof createSpendCache>
