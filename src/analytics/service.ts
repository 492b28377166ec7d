import type { AnalyticsGroupRow, AnalyticsPeriod, AnalyticsRepository } from '../db/repositories/analytics.js'
import { dayStartMs } from './days.js'
import type { SpendCache, SpendTexts } from './spend.js'
import type { AnalyticsQuery, AnalyticsRowView, AnalyticsView } from './view-schema.js'

/** Rows the JSON answer carries (most leads first); the totals still count every row, the CSV has them all. */
export const MAX_ROWS = 1000

type Totals = AnalyticsView['totals']

/** Money in cents: spend / n, or null when either is missing. */
function per(spend: number | null, n: number): number | null {
  return spend === null || n === 0 ? null : Math.round((spend / n) * 100) / 100
}

export function rowView(r: AnalyticsGroupRow): AnalyticsRowView {
  const spend = r.spend === null ? null : Math.round(r.spend * 100) / 100
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

export interface AnalyticsServiceDeps {
  repo: AnalyticsRepository
  spend: SpendCache
}

/**
 * The analytics of one portal over a period: the spend cache made complete first (TikTok asked
 * only for missing or stale days), then one SQL pass that groups the leads and joins the spend.
 * TikTok failing never fails the answer: the rows come with spend null and the reason.
 */
export function createAnalyticsService({ repo, spend }: AnalyticsServiceDeps) {
  async function period(memberId: string, q: AnalyticsQuery, text: SpendTexts, formLevel: string) {
    const outcome =
      q.level === 'form'
        ? { complete: [], problems: [formLevel] }
        : await spend.ensure(memberId, q.level, q.from, q.to, text)
    const p: AnalyticsPeriod = {
      memberId,
      level: q.level,
      fromMs: dayStartMs(q.from),
      toMs: dayStartMs(q.to),
      fromDay: q.from,
      toDay: q.to,
      spendAdvertisers: outcome.complete,
    }
    return { p, problems: outcome.problems }
  }

  return {
    async view(memberId: string, q: AnalyticsQuery, text: SpendTexts, formLevel: string): Promise<AnalyticsView> {
      const { p, problems } = await period(memberId, q, text, formLevel)
      const rows: AnalyticsRowView[] = []
      const totals: Totals = {
        leads: 0,
        delivered: 0,
        contacted: 0,
        qualified: 0,
        converted: 0,
        lost: 0,
        spend: null,
        impressions: null,
        clicks: null,
        costPerLead: null,
        costPerQualifiedLead: null,
      }
      let count = 0
      let spendSum: number | null = null
      repo.each(p, (r) => {
        count++
        if (rows.length < MAX_ROWS) rows.push(rowView(r))
        totals.leads += r.leads
        totals.delivered += r.delivered
        totals.contacted += r.contacted
        totals.qualified += r.qualified
        totals.converted += r.converted
        totals.lost += r.lost
        if (r.spend !== null) {
          spendSum = (spendSum ?? 0) + r.spend
          totals.impressions = (totals.impressions ?? 0) + (r.impressions ?? 0)
          totals.clicks = (totals.clicks ?? 0) + (r.clicks ?? 0)
        }
      })
      totals.spend = spendSum === null ? null : Math.round(spendSum * 100) / 100
      totals.costPerLead = per(totals.spend, totals.leads)
      totals.costPerQualifiedLead = per(totals.spend, totals.qualified)
      return {
        level: q.level,
        from: q.from,
        to: q.to,
        spend: { available: problems.length === 0, problems },
        totals,
        rows,
        truncated: count > rows.length,
      }
    },

    /** The rows for the CSV export: spend made complete first, then a cursor read at the reader's pace. */
    async cursor(memberId: string, q: AnalyticsQuery, text: SpendTexts, formLevel: string) {
      const { p, problems } = await period(memberId, q, text, formLevel)
      return { rows: repo.cursor(p), problems }
    },
  }
}

export type AnalyticsService = ReturnType<typeof createAnalyticsService>
