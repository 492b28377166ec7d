import SQLite from 'better-sqlite3'
import type { SpendLevel } from '../schema.js'

export type AnalyticsLevel = SpendLevel | 'form'

/** One group's numbers over a period, as SQLite returns them (0/1 sums as integers, ms as numbers). */
export interface AnalyticsGroupRow {
  /** the campaign, ad group, ad or form id; null for leads whose body did not say */
  id: string | null
  name: string | null
  advertiser_id: string | null
  leads: number
  delivered: number
  contacted: number
  qualified: number
  converted: number
  lost: number
  median_first_contact_ms: number | null
  /** null: no complete spend for this group's ad account (not connected, TikTok failed, or the form level) */
  spend: number | null
  impressions: number | null
  clicks: number | null
}

export interface AnalyticsPeriod {
  memberId: string
  level: AnalyticsLevel
  /** received_at in [fromMs, toMs) */
  fromMs: number
  toMs: number
  /** spend days in [fromDay, toDay), YYYY-MM-DD */
  fromDay: string
  toDay: string
  /** ad accounts whose spend over the period is in tiktok_spend in full; others get null spend */
  spendAdvertisers: string[]
}

/** The grouping column and its name column per level; the only text that goes into the SQL unbound. */
const COLUMNS: Record<AnalyticsLevel, { id: string; name: string }> = {
  campaign: { id: 'campaign_id', name: 'campaign_name' },
  adgroup: { id: 'adgroup_id', name: 'adgroup_name' },
  ad: { id: 'ad_id', name: 'ad_name' },
  form: { id: 'page_id', name: 'form_name' },
}

/**
 * The analytics query: one pass over the portal's period in the covering index leads_analytics
 * (migration 0014), grouped by the level's column, with the cached TikTok spend joined per ad
 * account and entity. Outcomes, as the tab and the CSV explain them:
 * - delivered: a Bitrix24 record was made for the lead (status delivered);
 * - contacted: someone moved it on from its first stage (first_contact_at, migration 0011);
 * - qualified: it stands now at an in-progress stage after the first one (semantic P, stage not
 *   NEW nor a pipeline's C<n>:NEW) or at a success stage (S);
 * - converted: a success stage (S); lost: a failure stage (F);
 * - median time to first contact: first_contact_at − done_at (delivery) of delivered, contacted
 *   leads, SQLite's median() (ENABLE_PERCENTILE, compiled into better-sqlite3's SQLite), which skips nulls.
 * Written for better-sqlite3 directly (not Kysely): the rows are read through a cursor
 * (`iterate`), either all at once within one call (the JSON answer) or on a read-only connection
 * of its own (the CSV export, which streams while the app's one connection keeps working).
 * @see https://sqlite.org/percentile.html
 */
export function analyticsSql(level: AnalyticsLevel): string {
  const c = COLUMNS[level]
  // Spend exists per campaign, ad group and ad; TikTok has none per form. A full join, so an
  // entity that spent without bringing a lead shows too (0 leads) and the totals hold all spend.
  const inSpend = (col: string) => `${col} in (select value from json_each(@advertisers))`
  const select =
    level === 'form'
      ? `select agg.*, null as spend, null as impressions, null as clicks from agg`
      : `select coalesce(agg.id, sp.entity_id) as id, agg.name, coalesce(agg.advertiser_id, sp.advertiser_id) as advertiser_id,
           coalesce(agg.leads, 0) as leads, coalesce(agg.delivered, 0) as delivered, coalesce(agg.contacted, 0) as contacted,
           coalesce(agg.qualified, 0) as qualified, coalesce(agg.converted, 0) as converted, coalesce(agg.lost, 0) as lost,
           agg.median_first_contact_ms,
           case when ${inSpend('coalesce(agg.advertiser_id, sp.advertiser_id)')} then coalesce(sp.spend, 0) end as spend,
           case when ${inSpend('coalesce(agg.advertiser_id, sp.advertiser_id)')} then coalesce(sp.impressions, 0) end as impressions,
           case when ${inSpend('coalesce(agg.advertiser_id, sp.advertiser_id)')} then coalesce(sp.clicks, 0) end as clicks
         from agg full join sp on sp.advertiser_id = agg.advertiser_id and sp.entity_id = agg.id`
  return `
    with agg as (
      select ${c.id} as id, max(${c.name}) as name, max(advertiser_id) as advertiser_id, count(*) as leads,
        count(*) filter (where status = 'delivered') as delivered,
        count(*) filter (where first_contact_at is not null) as contacted,
        count(*) filter (
          where b24_stage_semantic = 'S'
            or (b24_stage_semantic = 'P' and b24_stage_id != 'NEW' and b24_stage_id not like '%:NEW')
        ) as qualified,
        count(*) filter (where b24_stage_semantic = 'S') as converted,
        count(*) filter (where b24_stage_semantic = 'F') as lost,
        median(case when status = 'delivered' then first_contact_at - done_at end) as median_first_contact_ms
      from leads indexed by leads_analytics
      where member_id = @memberId and received_at >= @fromMs and received_at < @toMs and is_test = 0
      group by ${c.id}
    ),
    sp as (
      select advertiser_id, entity_id, round(sum(spend), 2) as spend, sum(impressions) as impressions, sum(clicks) as clicks
      from tiktok_spend
      where level = @spendLevel and day >= @fromDay and day < @toDay
        and ${inSpend('advertiser_id')}
      group by advertiser_id, entity_id
    )
    ${select}
    order by leads desc, spend desc, id`
}

function params(p: AnalyticsPeriod) {
  return {
    memberId: p.memberId,
    fromMs: p.fromMs,
    toMs: p.toMs,
    fromDay: p.fromDay,
    toDay: p.toDay,
    spendLevel: p.level === 'form' ? 'ad' : p.level,
    advertisers: JSON.stringify(p.spendAdvertisers),
  }
}

export type AnalyticsRepository = ReturnType<typeof createAnalyticsRepository>

export function createAnalyticsRepository(sqlite: SQLite.Database) {
  const statements = new Map<AnalyticsLevel, SQLite.Statement>()
  const statement = (db: SQLite.Database, level: AnalyticsLevel) => db.prepare(analyticsSql(level))

  return {
    /**
     * Every group, visited in order (most leads first) through the cursor within this one call, so
     * nothing else runs on the connection meanwhile and only what `visit` keeps stays in memory.
     */
    each(p: AnalyticsPeriod, visit: (row: AnalyticsGroupRow) => void): void {
      let stmt = statements.get(p.level)
      if (!stmt) {
        stmt = statement(sqlite, p.level)
        statements.set(p.level, stmt)
      }
      for (const row of stmt.iterate(params(p)) as IterableIterator<AnalyticsGroupRow>) visit(row)
    },

    /**
     * The groups as a cursor to read at the reader's pace (the CSV export). On a file database it
     * runs on a read-only connection of its own, closed when the cursor ends or is abandoned: a
     * better-sqlite3 connection runs nothing else while a cursor is open, and the app's one
     * connection must keep taking leads while a slow download reads. WAL gives that connection
     * one consistent snapshot. An in-memory database (tests) cannot be opened twice: its rows are
     * read at once there.
     */
    *cursor(p: AnalyticsPeriod): Generator<AnalyticsGroupRow> {
      if (sqlite.memory) {
        yield* statement(sqlite, p.level).all(params(p)) as AnalyticsGroupRow[]
        return
      }
      const reader = new SQLite(sqlite.name, { readonly: true, fileMustExist: true })
      try {
        reader.pragma('busy_timeout = 25')
        yield* statement(reader, p.level).iterate(params(p)) as IterableIterator<AnalyticsGroupRow>
      } finally {
        reader.close()
      }
    },
  }
}
