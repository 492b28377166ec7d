import SQLite from 'better-sqlite3'
import { initialStageSql } from '../../quality/stage-map.js'
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

/**
 * Per level: the id and name columns, what to group by and the covering index read (migration
 * 0014); the only text that goes into the SQL unbound. Campaigns, ad groups and ads nest, so an
 * ad group is grouped by (campaign, ad group) and an ad by (campaign, ad group, ad): the order of
 * leads_analytics, so SQLite groups while it reads, without sorting. (A lead that names an ad
 * group but no campaign forms a group of its own; TikTok sends all three together.)
 */
const COLUMNS: Record<AnalyticsLevel, { id: string; name: string; group: string; index: string }> = {
  campaign: { id: 'campaign_id', name: 'campaign_name', group: 'campaign_id', index: 'leads_analytics' },
  adgroup: { id: 'adgroup_id', name: 'adgroup_name', group: 'campaign_id, adgroup_id', index: 'leads_analytics' },
  ad: { id: 'ad_id', name: 'ad_name', group: 'campaign_id, adgroup_id, ad_id', index: 'leads_analytics' },
  form: { id: 'page_id', name: 'form_name', group: 'page_id', index: 'leads_analytics_form' },
}

/**
 * The analytics query: one pass over the portal's leads in a covering index (migration 0014),
 * grouped in the index's order by the level's column, counting those received in the period,
 * with the cached TikTok spend joined per ad account and entity. Outcomes, as the tab and the CSV explain them:
 * - delivered: a Bitrix24 record was made for the lead (status delivered);
 * - contacted: someone worked it: moved it on from the stage it arrived at, or completed an activity of
 *   it (first_contact_at, migrations 0011 and 0015);
 * - qualified: it stands now at an in-progress stage other than the initial one (semantic P, not
 *   isInitialStage: NEW, a pipeline's C<n>:NEW) or at a success stage (S);
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
  // Spend exists per campaign, ad group and ad; TikTok has none per form. Each group's spend is
  // looked up in tiktok_spend's key (advertiser, level, entity, day range); entities that spent
  // without bringing a lead are added after (0 leads), so the totals hold all spend. (A join of the
  // two grouped sets had no index to use: 100,000 ads took minutes.)
  const inSpend = (col: string) => `${col} in (select value from json_each(@advertisers))`
  const sum = (what: string) => `(select ${what} from tiktok_spend s
           where s.advertiser_id = agg.advertiser_id and s.level = @spendLevel and s.entity_id = agg.id
             and s.day >= @fromDay and s.day < @toDay)`
  const select =
    level === 'form'
      ? 'select agg.*, null as spend, null as impressions, null as clicks from agg'
      : `select agg.*,
           case when ${inSpend('agg.advertiser_id')} then coalesce(${sum('round(sum(s.spend), 2)')}, 0) end as spend,
           case when ${inSpend('agg.advertiser_id')} then coalesce(${sum('sum(s.impressions)')}, 0) end as impressions,
           case when ${inSpend('agg.advertiser_id')} then coalesce(${sum('sum(s.clicks)')}, 0) end as clicks
         from agg
         union all
         select s.entity_id as id, null as name, s.advertiser_id, 0 as leads, 0 as delivered, 0 as contacted,
           0 as qualified, 0 as converted, 0 as lost, null as median_first_contact_ms,
           round(sum(s.spend), 2) as spend, sum(s.impressions) as impressions, sum(s.clicks) as clicks
         from tiktok_spend s
         where ${inSpend('s.advertiser_id')} and s.level = @spendLevel and s.day >= @fromDay and s.day < @toDay
           and s.entity_id not in (select id from agg where id is not null)
         group by s.advertiser_id, s.entity_id`
  return `
    with agg as (
      select ${c.id} as id, max(${c.name}) as name, max(advertiser_id) as advertiser_id, count(*) as leads,
        count(*) filter (where status = 'delivered') as delivered,
        count(*) filter (where first_contact_at is not null) as contacted,
        count(*) filter (
          where b24_stage_semantic = 'S'
            or (b24_stage_semantic = 'P' and not ${initialStageSql('b24_stage_id')})
        ) as qualified,
        count(*) filter (where b24_stage_semantic = 'S') as converted,
        count(*) filter (where b24_stage_semantic = 'F') as lost,
        median(case when status = 'delivered' then first_contact_at - done_at end) as median_first_contact_ms
      from leads indexed by ${c.index}
      where member_id = @memberId and received_at >= @fromMs and received_at < @toMs and is_test = 0
      group by ${c.group}
    )
    ${select}
    order by leads desc, spend desc, id`
}

function params(p: AnalyticsPeriod) {
  const leads = { memberId: p.memberId, fromMs: p.fromMs, toMs: p.toMs }
  if (p.level === 'form') return leads
  return {
    ...leads,
    fromDay: p.fromDay,
    toDay: p.toDay,
    spendLevel: p.level,
    advertisers: JSON.stringify(p.spendAdvertisers),
  }
}

export type AnalyticsRepository = ReturnType<typeof createAnalyticsRepository>

/**
 * A read-only connection to the app's database file for the analytics. Grouping a million leads is
 * one large sort: here it may use a 64 MB sorter and page cache (the app's connection keeps
 * SQLite's 2 MB) and a helper thread, which halved it on two cores; the memory is given back after
 * each query (shrink_memory), so an idle app pays nothing for it.
 * @see https://www.sqlite.org/pragma.html#pragma_threads
 */
function openReader(file: string): SQLite.Database {
  const reader = new SQLite(file, { readonly: true, fileMustExist: true })
  reader.pragma('busy_timeout = 25')
  reader.pragma('cache_size = -65536')
  reader.pragma('threads = 2')
  return reader
}

export function createAnalyticsRepository(sqlite: SQLite.Database) {
  const statements = new Map<AnalyticsLevel, SQLite.Statement>()
  const statement = (db: SQLite.Database, level: AnalyticsLevel) => db.prepare(analyticsSql(level))
  /** the JSON answers' reader (file databases), opened on first use and kept */
  let reader: SQLite.Database | null = null

  return {
    /**
     * Every group, visited in order (most leads first) through the cursor within this one call, so
     * nothing else runs on the connection meanwhile and only what `visit` keeps stays in memory.
     * A file database is read on the analytics' own connection (see openReader), an in-memory one
     * (tests) on the app's.
     */
    each(p: AnalyticsPeriod, visit: (row: AnalyticsGroupRow) => void): void {
      if (!sqlite.memory) reader ??= openReader(sqlite.name)
      const db = reader ?? sqlite
      let stmt = statements.get(p.level)
      if (!stmt) {
        stmt = statement(db, p.level)
        statements.set(p.level, stmt)
      }
      try {
        for (const row of stmt.iterate(params(p)) as IterableIterator<AnalyticsGroupRow>) visit(row)
      } finally {
        if (reader) reader.pragma('shrink_memory')
      }
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
      const own = openReader(sqlite.name)
      try {
        yield* statement(own, p.level).iterate(params(p)) as IterableIterator<AnalyticsGroupRow>
      } finally {
        own.close()
      }
    },

    /** Closes the analytics' own connection (the app's close). */
    close(): void {
      reader?.close()
      reader = null
      statements.clear()
    },
  }
}
