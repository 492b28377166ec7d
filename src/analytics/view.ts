import type { AnalyticsGroupRow, AnalyticsTop } from '../db/repositories/analytics.js'
import type { AnalyticsRowView, AnalyticsView } from './view-schema.js'

/**
 * The analytics rows as the tab and the CSV show them: money rounded to cents, cost per lead and
 * per qualified lead from the spend. Pure, so the worker (CSV) and the main thread (JSON) agree.
 */

/** Rows the JSON answer carries (most leads first); the totals still count every row, the CSV has them all. */
export const MAX_ROWS = 1000

/** Money in cents: spend / n, or null when either is missing. */
function per(spend: number | null, n: number): number | null {
  return spend === null || n === 0 ? null : Math.round((spend / n) * 100) / 100
}

const cents = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100)

export function rowView(r: AnalyticsGroupRow): AnalyticsRowView {
  const spend = cents(r.spend)
  return {
    id: r.id,
    name: r.name,
    advertiserId: r.advertiser_id,
    leads: r.leads,
    delivered: r.delivered,
    contacted: r.contacted,
    qualified: r.qualified,
    converted: r.converted,
    lost: r.lost,
    spend,
    impressions: r.impressions,
    clicks: r.clicks,
    costPerLead: per(spend, r.leads),
    costPerQualifiedLead: per(spend, r.qualified),
    medianFirstContactMs: r.median_first_contact_ms === null ? null : Math.round(r.median_first_contact_ms),
  }
}

/** The rows and totals of the answer, from the query's top groups and totals. */
export function topView(top: AnalyticsTop): Pick<AnalyticsView, 'rows' | 'totals' | 'truncated'> {
  const t = top.totals
  const spend = cents(t.spend)
  return {
    rows: top.rows.map(rowView),
    totals: {
      leads: t.leads,
      delivered: t.delivered,
      contacted: t.contacted,
      qualified: t.qualified,
      converted: t.converted,
      lost: t.lost,
      spend,
      impressions: spend === null ? null : t.impressions,
      clicks: spend === null ? null : t.clicks,
      costPerLead: per(spend, t.leads),
      costPerQualifiedLead: per(spend, t.qualified),
    },
    truncated: t.groups > top.rows.length,
  }
}
