import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { Config } from '../config.js'
import { publicBase } from '../public-url.js'
import { settingsContext } from './api-guard.js'
import { FieldsView, OptionsSaved, StateView, StatsView } from './answers.js'
import { OptionsBody } from './schemas.js'
import { buildState, buildStats, optionsOf } from './view-model.js'

/**
 * What the tab shows of the portal (its state, counters, CRM fields) and the delivery options
 * it changes. Registered inside /api/settings, behind api-guard.ts.
 */
export function settingsStateRoutes(config: Config) {
  return async function routes(plain: FastifyInstance): Promise<void> {
    const app = plain.withTypeProvider<ZodTypeProvider>()

    app.get(
      '/state',
      {
        schema: {
          summary: 'What the tab shows: portal, webhook, queue, options, mapping',
          response: { 200: StateView },
        },
      },
      async (request) => {
        const { session, portal, conf } = await settingsContext(app, request)
        return buildState(app, {
          portal,
          conf,
          user: { id: session.u, name: session.n, isAdmin: session.a },
          base: publicBase(config, request),
          lang: session.l,
        })
      },
    )

    app.get(
      '/fields',
      { schema: { summary: "The portal's CRM fields, users, sources and statuses", response: { 200: FieldsView } } },
      async (request) => (await app.portalFields.load(request.session!.m)).view,
    )

    app.get(
      '/stats',
      { schema: { summary: 'Lead counts per day for the last week', response: { 200: StatsView } } },
      async (request) => buildStats(app, request.session!.m),
    )

    const optionsSchema = { summary: 'Delivery options', body: OptionsBody, response: { 200: OptionsSaved } }
    app.post('/options', { schema: optionsSchema }, async (request): Promise<OptionsSaved> => {
      const body = request.body
      const m = request.session!.m
      const { retention_days, name_order, ...rest } = body
      // Retention or name order left out of the body: unchanged.
      await app.settings.update(m, {
        ...rest,
        ...(retention_days === undefined ? {} : { retention_days }),
        ...(name_order === undefined ? {} : { name_order }),
      })
      app.portalRates.set(m, body.rate_per_s)
      app.portalQueues.rateChanged(m)
      return { ok: true, options: optionsOf((await app.settings.find(m))!, app.retention.days) }
    })
  }
}
