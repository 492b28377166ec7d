import { z } from 'zod'
import { daysBetween, isDay } from './days.js'

/**
 * The analytics API's query and answer (GET /api/settings/analytics and analytics.csv). The answer
 * is its route's 200 schema (settings/answers.ts re-exports it), so the tab's types come from here.
 */

/** The longest period one request may cover (a year, leap day included). */
export const MAX_PERIOD_DAYS = 366

export const AnalyticsLevelEnum = z.enum(['campaign', 'adgroup', 'ad', 'form'])

const Day = z
  .string()
  .refine(isDay, { message: 'must be a date YYYY-MM-DD' })
  .describe("a day of the ad account's time zone, YYYY-MM-DD")

export const AnalyticsQuery = z
  .object({
    level: AnalyticsLevelEnum.default('campaign').describe('what the rows are: campaigns, ad groups, ads or forms'),
    from: Day.describe("the first day of the period (the ad account's days, YYYY-MM-DD), included"),
    to: Day.describe("the day after the period (the ad account's days, YYYY-MM-DD), excluded"),
  })
  .superRefine((q, ctx) => {
    if (!isDay(q.from) || !isDay(q.to)) return
    const days = daysBetween(q.from, q.to)
    if (days <= 0)
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from (the period is [from, to))' })
    else if (days > MAX_PERIOD_DAYS)
      ctx.addIssue({ code: 'custom', path: ['to'], message: `the period may span at most ${MAX_PERIOD_DAYS} days` })
  })
export type AnalyticsQuery = z.infer<typeof AnalyticsQuery>

const Money = z.number().nullable()

const Numbers = {
  leads: z.number().int(),
  delivered: z.number().int().describe('a Bitrix24 record was made for it'),
  contacted: z
    .number()
    .int()
    .describe('someone worked it: moved it on from the stage it arrived at, or completed an activity'),
  qualified: z.number().int().describe('now at an in-progress stage after the first one, or at a success stage'),
  converted: z.number().int().describe('at a success stage'),
  lost: z.number().int().describe('at a failure stage'),
  spend: Money.describe("TikTok spend in the ad account's currency; null when not available"),
  impressions: z.number().int().nullable(),
  clicks: z.number().int().nullable(),
  costPerLead: Money.describe('spend / leads, rounded to cents'),
  costPerQualifiedLead: Money.describe('spend / qualified leads, rounded to cents; null with no qualified lead'),
}

export const AnalyticsRowView = z.object({
  id: z.string().nullable().describe('the campaign, ad group, ad or form id; null for leads that did not say'),
  name: z.string().nullable(),
  advertiserId: z.string().nullable(),
  ...Numbers,
  medianFirstContactMs: z.number().nullable().describe('median time from delivery to first contact'),
})
export type AnalyticsRowView = z.infer<typeof AnalyticsRowView>

export const AnalyticsView = z.object({
  level: AnalyticsLevelEnum,
  from: z.string(),
  to: z.string(),
  timeZone: z
    .string()
    .describe(
      "the time zone (IANA) of the period's days: the first connected ad account's, whose days TikTok reports spend in; UTC without one",
    ),
  timeZones: z
    .array(z.object({ advertiserId: z.string(), timeZone: z.string() }))
    .describe("each connected ad account's time zone: its leads and spend are counted over its own days"),
  spend: z.object({
    available: z.boolean().describe('false: the numbers below have no (or incomplete) spend'),
    problems: z.array(z.string()).describe('why spend is missing, one plain line each; empty when all is there'),
  }),
  totals: z.object(Numbers),
  rows: z.array(AnalyticsRowView).describe('most leads first'),
  truncated: z.boolean().describe('more rows than shown: the CSV export has them all'),
})
export type AnalyticsView = z.infer<typeof AnalyticsView>
