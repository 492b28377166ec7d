import type { Readable } from 'node:stream'
import type { AnalyticsPeriod } from '../db/repositories/analytics.js'
import { UTC, zonedDayStartMs } from './days.js'
import type { AnalyticsRunner } from './runner.js'
import type { SpendCache, SpendTexts } from './spend.js'
import { MAX_ROWS, topView } from './view.js'
import type { AnalyticsQuery, AnalyticsView } from './view-schema.js'

export { MAX_ROWS, rowView } from './view.js'

export interface AnalyticsServiceDeps {
  runner: AnalyticsRunner
  spend: SpendCache
}

/**
 * The analytics of one portal over a period: the ad accounts' zones known and the spend cache
 * made complete first (TikTok asked only for missing or stale days), then one SQL pass that
 * groups the leads and joins the spend, run by the runner (off the main thread for a file).
 * TikTok failing never fails the answer: the rows come with spend null and the reason.
 *
 * The period's days are the ad accounts' days: TikTok's report days are in each account's zone,
 * so an account's leads are counted from midnight to midnight there (its spend and its leads of
 * one day then agree). Leads that no connected account claims (no ad account in the body, or one
 * not connected) count over the days of the portal's first connected account, UTC without one.
 */
export function createAnalyticsService({ runner, spend }: AnalyticsServiceDeps) {
  async function period(memberId: string, q: AnalyticsQuery, text: SpendTexts, formLevel: string) {
    const outcome = await spend.ensure(memberId, q.level, q.from, q.to, text)
    const zone = outcome.zones.find((z) => z.zone !== null)?.zone ?? UTC
    const bounds = (z: string) => ({ fromMs: zonedDayStartMs(q.from, z), toMs: zonedDayStartMs(q.to, z) })
    const portal = bounds(zone)
    const p: AnalyticsPeriod = {
      memberId,
      level: q.level,
      ...portal,
      advertiserBounds: outcome.zones
        .filter((z) => z.zone !== null && z.zone !== zone)
        .map((z) => ({ advertiserId: z.advertiserId, ...bounds(z.zone!) }))
        .filter((b) => b.fromMs !== portal.fromMs || b.toMs !== portal.toMs),
      fromDay: q.from,
      toDay: q.to,
      spendAdvertisers: outcome.complete,
    }
    const problems = q.level === 'form' ? [formLevel] : outcome.problems
    const zones = outcome.zones.map((z) => ({ advertiserId: z.advertiserId, timeZone: z.zone ?? zone }))
    return { p, problems, zone, zones }
  }

  return {
    async view(memberId: string, q: AnalyticsQuery, text: SpendTexts, formLevel: string): Promise<AnalyticsView> {
      const { p, problems, zone, zones } = await period(memberId, q, text, formLevel)
      const top = await runner.top(p, MAX_ROWS)
      return {
        level: q.level,
        from: q.from,
        to: q.to,
        timeZone: zone,
        timeZones: zones,
        spend: { available: problems.length === 0, problems },
        ...topView(top),
      }
    },

    /** The CSV export: spend made complete first, then the rows streamed at the reader's pace. */
    async csv(
      memberId: string,
      q: AnalyticsQuery,
      text: SpendTexts,
      formLevel: string,
    ): Promise<{ body: Readable; problems: string[] }> {
      const { p, problems } = await period(memberId, q, text, formLevel)
      return { body: runner.csv(p), problems }
    },
  }
}

export type AnalyticsService = ReturnType<typeof createAnalyticsService>
