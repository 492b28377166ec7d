import type SQLite from 'better-sqlite3'
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { createAnalyticsRunner } from '../analytics/runner.js'
import { createAnalyticsService } from '../analytics/service.js'
import { createSpendCache, type SpendTexts } from '../analytics/spend.js'
import { AnalyticsQuery } from '../analytics/view-schema.js'
import { AnalyticsView } from './answers.js'
import { fmt, type Lang, STRINGS } from './i18n.js'

function spendTexts(lang: Lang): SpendTexts & { formLevel: string } {
  const s = STRINGS[lang]
  return {
    notConfigured: s.problem_spend_not_configured,
    noConnection: s.problem_spend_no_connection,
    tokenInvalid: (name) => fmt(s.problem_spend_token_invalid, { name }),
    failed: (name, why) => fmt(s.problem_spend_failed, { name, why }),
    formLevel: s.problem_spend_form_level,
  }
}

/**
 * The analytics of the portal's TikTok leads by campaign, ad group, ad or form over a period,
 * with TikTok's spend joined (GET /analytics), and the same rows as a CSV download
 * (GET /analytics.csv). Reads only, so every user of the tab may; registered inside
 * /api/settings, behind api-guard.ts (the session names the portal: no other portal's rows).
 */
export function settingsAnalyticsRoutes(opts: { sqlite: SQLite.Database }) {
  return async function routes(plain: FastifyInstance): Promise<void> {
    const app = plain.withTypeProvider<ZodTypeProvider>()
    const ctx = app.tiktok.ctx
    // The queries run off the main thread for a database file (runner.ts): intake keeps answering.
    const runner = createAnalyticsRunner(opts.sqlite)
    app.addHook('onClose', async () => runner.close())
    const service = createAnalyticsService({
      runner,
      spend: createSpendCache({
        db: app.db,
        api: ctx?.api ?? null,
        box: app.tiktok.box,
        clock: app.clock,
        log: app.log,
      }),
    })

    app.get(
      '/analytics',
      {
        schema: {
          summary: 'Leads, outcomes and TikTok spend by campaign, ad group, ad or form over a period',
          querystring: AnalyticsQuery,
          response: { 200: AnalyticsView },
        },
      },
      async (request): Promise<AnalyticsView> => {
        const s = request.session!
        const text = spendTexts(s.l)
        return service.view(s.m, request.query, text, text.formLevel)
      },
    )

    app.get(
      '/analytics.csv',
      {
        schema: {
          summary: 'The same analytics as a CSV file (UTF-8 with BOM, RFC 4180), every row, streamed',
          querystring: AnalyticsQuery,
          response: {
            200: {
              description: 'text/csv; the first line names the columns',
              content: { 'text/csv': { schema: z.string() } },
            },
          },
        },
      },
      async (request, reply) => {
        const s = request.session!
        const q = request.query
        const text = spendTexts(s.l)
        const { body, problems } = await service.csv(s.m, q, text, text.formLevel)
        const filename = `tiktok-leads-${q.level}-${q.from}-to-${q.to}.csv`
        reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${filename}"`)
        // Spend missing for some ad account: the download still comes, and says why in a header
        // (a CSV line would break the file for spreadsheets).
        if (problems.length > 0) reply.header('x-spend-unavailable', encodeURIComponent(problems.join(' ')))
        // The 200 schema documents the file as a string; Fastify sends a stream as it comes.
        return reply.send(body as unknown as string)
      },
    )
  }
}
