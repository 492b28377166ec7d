import type SQLite from 'better-sqlite3'
import { initialStageSql } from '../../quality/stage-map.js'
import type { SpendLevel } from '../schema.js'
import { FIRST_CONTACT_MS } from './lead-times.js'

export type AnalyticsLevel = SpendLevel | 'form'

/** One group's numbers over a period, as SQLite returns them (sums as integers, ms as numbers). */
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

/** The sums over every group of a period (spend, impressions and clicks over the groups that have spend). */
export interface AnalyticsTotalsRow {
  leads: number
  delivered: number
  contacted: number
  qualified: number
  converted: number
  lost: number
  spend: number | null
  impressions: number | null
  clicks: number | null
  /**
   * How many groups there are (the top ones come as rows): those with leads, and the entities that
   * spent without leads when those are counted, that is when the groups with leads leave room in
   * the rows; otherwise there are more groups than rows either way.
   */
  groups: number
}

/** Received_at bounds [fromMs, toMs): the period's days in one ad account's zone. */
export interface PeriodBounds {
  fromMs: number
  toMs: number
}

export interface AnalyticsPeriod {
  memberId: string
  level: AnalyticsLevel
  /** the bounds of leads no listed ad account claims (the portal's zone; see service.ts) */
  fromMs: number
  toMs: number
  /** ad accounts whose leads are counted over their own zone's days, when those differ from the above */
  advertiserBounds: Array<PeriodBounds & { advertiserId: string }>
  /** spend days in [fromDay, toDay), YYYY-MM-DD, each ad account's own days */
  fromDay: string
  toDay: string
  /** ad accounts whose spend over the period is in tiktok_spend in full; others get null spend */
  spendAdvertisers: string[]
}

/**
 * What the analytics read of a lead, as expressions that migration 0016 indexes. Written here and
 * in the migration alike (a migration is frozen, so it holds its own copy): SQLite takes a value
 * from an index on an expression only when the query's expression is the same, and the analytics
 * then read the index alone (test/analytics/query-plan.test.ts checks both). Changing an outcome
 * rule means a new migration with the new expression.
 *
 * The outcome as two numbers whose sums over a group are the group's five counts, 21 bits each
 * (two sums per lead instead of five counts: half the query's time):
 * - A: delivered (1: a Bitrix24 record was made) + contacted (2^21: someone worked it,
 *   first_contact_at) + qualified (2^42: an in-progress stage other than the initial one, or a
 *   success stage);
 * - B: converted (1: a success stage) + lost (2^21: a failure stage).
 * A field holds up to 2^21 − 1: exact while a group has fewer leads than FIELD (2,097,152) in
 * the period; a bigger group is counted field by field instead (`packed: false`).
 */
export const FIELD = 2 ** 21
export const OUTCOME_A_SQL = `(case when status = 'delivered' then 1 else 0 end
  + case when first_contact_at is not null then ${FIELD} else 0 end
  + case when b24_stage_semantic = 'S' or (b24_stage_semantic = 'P' and not ${initialStageSql('b24_stage_id')}) then ${FIELD * FIELD} else 0 end)`
export const OUTCOME_B_SQL = `(case b24_stage_semantic when 'S' then 1 when 'F' then ${FIELD} else 0 end)`
/** Delivered → first contact (ms) of a delivered lead; null otherwise (median() skips it). */
export const FIRST_CONTACT_SQL = `(case when status = 'delivered' then ${FIRST_CONTACT_MS} end)`

/**
 * Per level: the id and name columns, what to group by and the index read (migration 0016); the
 * only text that goes into the SQL unbound. Campaigns, ad groups and ads nest, so an ad group is
 * grouped by (campaign, ad group) and an ad by (campaign, ad group, ad): the order of
 * leads_analytics_ads, so SQLite groups while it reads, without sorting. (A lead that names an ad
 * group but no campaign forms a group of its own; TikTok sends all three together.)
 */
const COLUMNS: Record<AnalyticsLevel, { id: string; name: string; group: string; index: string; read: string }> = {
  campaign: {
    id: 'campaign_id',
    name: 'campaign_name',
    group: 'campaign_id',
    index: 'leads_analytics_ads',
    read: 'campaign_id, campaign_name',
  },
  adgroup: {
    id: 'adgroup_id',
    name: 'adgroup_name',
    group: 'campaign_id, adgroup_id',
    index: 'leads_analytics_ads',
    read: 'campaign_id, adgroup_id, adgroup_name',
  },
  ad: {
    id: 'ad_id',
    name: 'ad_name',
    group: 'campaign_id, adgroup_id, ad_id',
    index: 'leads_analytics_ads',
    read: 'campaign_id, adgroup_id, ad_id, ad_name',
  },
  form: {
    id: 'page_id',
    name: 'form_name',
    group: 'page_id',
    index: 'leads_analytics_forms',
    read: 'page_id, form_name',
  },
}

/**
 * The received_at condition: one range, or, when ad accounts count over days of different zones,
 * each account's range (`@a<i>`, `@f<i>`, `@t<i>`), the portal's for the rest.
 */
function periodSql(zones: number): string {
  if (zones === 0) return 'received_at >= @fromMs and received_at < @toMs'
  const pick = (bound: 'f' | 't', dflt: string) =>
    `case advertiser_id ${Array.from({ length: zones }, (_, i) => `when @a${i} then @${bound}${i}`).join(' ')} else ${dflt} end`
  return `received_at >= (${pick('f', '@fromMs')}) and received_at < (${pick('t', '@toMs')})`
}

/** The five counts of a group: decoded from the two sums, or (`packed: false`) summed field by field. */
function countsSql(packed: boolean): { inner: string; outer: string } {
  const mask = FIELD - 1
  if (packed)
    return {
      inner: 'sum(a) as sa, sum(b) as sb',
      outer: `sa & ${mask} as delivered, (sa >> 21) & ${mask} as contacted, sa >> 42 as qualified,
        sb & ${mask} as converted, sb >> 21 as lost`,
    }
  return {
    inner: `sum(a & 1) as delivered, sum((a >> 21) & 1) as contacted, sum(a >> 42) as qualified,
      sum(b & 1) as converted, sum(b >> 21) as lost`,
    outer: 'delivered, contacted, qualified, converted, lost',
  }
}

/**
 * The analytics query, one statement:
 * - agg: one pass over the portal's leads in the level's index (migration 0016), grouped in the
 *   index's order, counting those received in the period (test leads are not in the index). The
 *   outcome sums and the time to first contact are read from the index, not computed per lead;
 *   name and ad account are a value of the group (a bare column: TikTok sends an entity's
 *   current name with each lead, and an entity belongs to one ad account).
 * - spend: the cached TikTok spend (tiktok_spend, keyed by ad account, level, entity, day) summed
 *   per entity over the period, for the ad accounts whose spend is complete; a group of another
 *   account has spend null. Entities that spent without bringing a lead are rows too (0 leads),
 *   so the totals hold all spend. TikTok has no spend per form.
 * - the order: most leads first, ties by id; the entities without leads last, most spend first.
 * - `view`: the first `@limit` groups and, last, one row of totals (part = 1). The groups are
 *   ranked on their leads before any spend is looked up, so only the rows shown get theirs (the
 *   sums are the totals' own), and the spend-only entities are looked for only when the groups
 *   with leads leave room: the JSON answer never carries or joins the other groups.
 *   `all`: every group in order, for the CSV, each group's spend from one transient index over
 *   the period's spend.
 * Written for better-sqlite3 directly (not Kysely): it runs on a read-only connection of the
 * analytics' own (src/analytics/runner.ts), off the main thread for a database file.
 * @see https://sqlite.org/percentile.html (median)
 * @see https://sqlite.org/expridx.html (indexes on expressions)
 */
export function analyticsSql(level: AnalyticsLevel, zones: number, mode: 'view' | 'all', packed = true): string {
  const c = COLUMNS[level]
  const counts = countsSql(packed)
  const agg = `agg as materialized (
      select id, name, advertiser_id, leads, ${counts.outer}, median_first_contact_ms
      from (
        select ${c.id} as id, ${c.name} as name, advertiser_id, count(*) as leads, ${counts.inner},
          median(fc) as median_first_contact_ms
        from (
          select ${c.read}, advertiser_id, ${OUTCOME_A_SQL} as a, ${OUTCOME_B_SQL} as b, ${FIRST_CONTACT_SQL} as fc
          from leads indexed by ${c.index}
          where member_id = @memberId and ${periodSql(zones)} and is_test = 0
        )
        group by ${c.group}
      )
    )`
  const order = 'order by leads desc, case when leads = 0 then spend end desc, id'
  const numbers = 'leads, delivered, contacted, qualified, converted, lost, median_first_contact_ms'
  const inSpend = (col: string) => `${col} in (select value from json_each(@advertisers))`
  const periodSpend = `level = @spendLevel and day >= @fromDay and day < @toDay`
  const spendOnly = (where: string) => `
      select entity_id as id, null as name, advertiser_id, 0 as leads, 0 as delivered, 0 as contacted,
        0 as qualified, 0 as converted, 0 as lost, null as median_first_contact_ms,
        round(sum(spend), 2) as spend, sum(impressions) as impressions, sum(clicks) as clicks
      from tiktok_spend s
      where ${inSpend('advertiser_id')} and ${periodSpend} ${where}
        and not exists (select 1 from agg where agg.advertiser_id = s.advertiser_id and agg.id = s.entity_id)
      group by advertiser_id, entity_id`
  const totals = (groups: string, spend: string) => `
      select 1 as part, null, null, null, sum(leads), sum(delivered), sum(contacted), sum(qualified),
        sum(converted), sum(lost), ${groups}, ${spend}
      from agg`

  if (level === 'form') {
    if (mode === 'all')
      return `with ${agg} select *, null as spend, null as impressions, null as clicks from agg ${order}`
    return `with ${agg}
      select * from (
        select 0 as part, * from (select *, null as spend, null as impressions, null as clicks from agg ${order} limit @limit)
        union all ${totals('count(*)', 'null, null, null')}
      )
      order by part, leads desc, id`
  }

  if (mode === 'all')
    return `with ${agg},
      sp as materialized (
        select advertiser_id, entity_id, round(sum(spend), 2) as spend, sum(impressions) as impressions,
          sum(clicks) as clicks
        from tiktok_spend
        where ${inSpend('advertiser_id')} and ${periodSpend}
        group by advertiser_id, entity_id
      )
      select * from (
        select agg.*,
          case when ${inSpend('agg.advertiser_id')} then coalesce(sp.spend, 0) end as spend,
          case when ${inSpend('agg.advertiser_id')} then coalesce(sp.impressions, 0) end as impressions,
          case when ${inSpend('agg.advertiser_id')} then coalesce(sp.clicks, 0) end as clicks
        from agg left join sp on sp.advertiser_id = agg.advertiser_id and sp.entity_id = agg.id
        union all ${spendOnly('')}
      )
      ${order}`

  const one = (what: string) => `(select ${what} from tiktok_spend s
          where s.advertiser_id = r.advertiser_id and s.${periodSpend.replaceAll(' day', ' s.day')} and s.entity_id = r.id)`
  // Spend-only entities fill what room the groups with leads leave (none when they fill the rows).
  const room = '(select count(*) from agg) <= @limit'
  return `with ${agg},
    total as materialized (
      select round(sum(spend), 2) as spend, sum(impressions) as impressions, sum(clicks) as clicks, count(*) as n
      from tiktok_spend where ${inSpend('advertiser_id')} and ${periodSpend}
    )
    select * from (
      select 0 as part, r.id, r.name, r.advertiser_id, ${numbers.replace(/(\w+)/g, 'r.$1')},
        case when ${inSpend('r.advertiser_id')} then coalesce(${one('round(sum(s.spend), 2)')}, 0) end as spend,
        case when ${inSpend('r.advertiser_id')} then coalesce(${one('sum(s.impressions)')}, 0) end as impressions,
        case when ${inSpend('r.advertiser_id')} then coalesce(${one('sum(s.clicks)')}, 0) end as clicks
      from (select * from agg order by leads desc, id limit @limit) r
      union all
      select 0, * from (${spendOnly(`and ${room}`)} order by spend desc, id limit @limit)
      union all ${totals(
        // groups: with leads, and the spend-only ones when counted (when there is room for them)
        `count(*) + case when ${room} then (select count(*) from (${spendOnly('')})) else 0 end`,
        ['spend', 'impressions', 'clicks']
          .map(
            (k) => `case when (select n from total) > 0 or exists (select 1 from agg where ${inSpend('advertiser_id')})
              then coalesce((select ${k} from total), 0) end`,
          )
          .join(', '),
      )}
    )
    ${order.replace('order by', 'order by part,')}`
}

function params(p: AnalyticsPeriod, limit?: number) {
  const out: Record<string, string | number> = { memberId: p.memberId, fromMs: p.fromMs, toMs: p.toMs }
  p.advertiserBounds.forEach((b, i) => {
    out[`a${i}`] = b.advertiserId
    out[`f${i}`] = b.fromMs
    out[`t${i}`] = b.toMs
  })
  if (p.level !== 'form') {
    out.fromDay = p.fromDay
    out.toDay = p.toDay
    out.spendLevel = p.level
    out.advertisers = JSON.stringify(p.spendAdvertisers)
  }
  if (limit !== undefined) out.limit = limit
  return out
}

/** The JSON answer's part: the top groups and the totals over all of them. */
export interface AnalyticsTop {
  rows: AnalyticsGroupRow[]
  totals: AnalyticsTotalsRow
}

/**
 * The analytics statements of one connection (the analytics' own read-only one, or an in-memory
 * database's only one), prepared once per level and number of zones.
 */
export function createAnalyticsQueries(db: SQLite.Database) {
  const statements = new Map<string, SQLite.Statement>()
  const statement = (p: AnalyticsPeriod, mode: 'view' | 'all', packed: boolean) => {
    const key = `${p.level}:${p.advertiserBounds.length}:${mode}:${packed}`
    let stmt = statements.get(key)
    if (!stmt) {
      stmt = db.prepare(analyticsSql(p.level, p.advertiserBounds.length, mode, packed))
      statements.set(key, stmt)
    }
    return stmt
  }
  /** The groups come most leads first: if the first has FIELD leads or more, the sums may have carried. */
  const tooBig = (first: AnalyticsGroupRow | undefined) => first !== undefined && first.leads >= FIELD

  function top(p: AnalyticsPeriod, limit: number, packed = true): AnalyticsTop {
    let all: Array<{ part: number } & AnalyticsGroupRow>
    try {
      all = statement(p, 'view', packed).all(params(p, Math.max(1, limit))) as typeof all
    } catch (err) {
      // A sum past 2^63 (a group of millions): count field by field.
      if (packed && (err as { message?: string }).message === 'integer overflow') return top(p, limit, false)
      throw err
    }
    const totalsRow = all.pop() as unknown as Record<string, number | null>
    if (packed && tooBig(all[0])) return top(p, limit, false)
    // The totals row's columns are named after the groups' (a union): `median_first_contact_ms` holds the count.
    const n = (k: string) => totalsRow[k] ?? 0
    const totals: AnalyticsTotalsRow = {
      leads: n('leads'),
      delivered: n('delivered'),
      contacted: n('contacted'),
      qualified: n('qualified'),
      converted: n('converted'),
      lost: n('lost'),
      spend: totalsRow.spend ?? null,
      impressions: totalsRow.impressions ?? null,
      clicks: totalsRow.clicks ?? null,
      groups: n('median_first_contact_ms'),
    }
    return { rows: all.slice(0, limit).map(({ part: _part, ...row }) => row), totals }
  }

  return {
    /** The first `limit` groups, most leads first, and the totals over all groups. */
    top: (p: AnalyticsPeriod, limit: number) => top(p, limit),

    /** Every group in order, through a cursor: nothing else may run on this connection until it ends. */
    *cursor(p: AnalyticsPeriod): Generator<AnalyticsGroupRow> {
      const rows = (packed: boolean) =>
        statement(p, 'all', packed).iterate(params(p)) as IterableIterator<AnalyticsGroupRow>
      let it = rows(true)
      let first: IteratorResult<AnalyticsGroupRow>
      try {
        first = it.next()
      } catch (err) {
        if ((err as { message?: string }).message !== 'integer overflow') throw err
        first = { done: true, value: undefined }
        it = rows(false)
        first = it.next()
      }
      if (!first.done && tooBig(first.value)) {
        it.return?.()
        it = rows(false)
        first = it.next()
      }
      try {
        if (first.done) return
        yield first.value
        yield* it
      } finally {
        it.return?.()
      }
    },
  }
}

export type AnalyticsQueries = ReturnType<typeof createAnalyticsQueries>
