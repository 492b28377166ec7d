import formbody from '@fastify/formbody'
import view from '@fastify/view'
import { Eta } from 'eta'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import { parse as parseQs } from 'qs'
import { bitrix24Routes } from './bitrix24/routes.js'
import { type Clock, systemClock } from './clock.js'
import type { Config } from './config.js'
import type { OpenedDatabase } from './db/database.js'
import { healthRoutes } from './health/routes.js'
import { loggerOptions } from './logger.js'
import { VIEWS_DIR } from './paths.js'
import bitrix24Plugin from './plugins/bitrix24.js'
import databasePlugin from './plugins/database.js'
import metricsPlugin from './plugins/metrics.js'
import deliveryPlugin from './plugins/delivery.js'
import errorHandler from './plugins/error-handler.js'
import openapiPlugin from './plugins/openapi.js'
import settingsTabPlugin from './plugins/settings-tab.js'
import { staticFiles } from './plugins/static.js'
import { metricsRoutes } from './metrics/routes.js'
import { settingsAnalyticsRoutes } from './settings/analytics-routes.js'
import settingsApiGuard from './settings/api-guard.js'
import { settingsCardRoutes } from './settings/card-routes.js'
import { settingsLeadRoutes } from './settings/lead-routes.js'
import { settingsMappingRoutes } from './settings/mapping-routes.js'
import { settingsPageRoutes } from './settings/routes.js'
import { settingsStateRoutes } from './settings/state-routes.js'
import { tiktokSettingsRoutes } from './settings/tiktok-routes.js'
import { settingsWebhookRoutes } from './settings/webhook-routes.js'
import { tiktokRoutes } from './tiktok/routes.js'
import tiktokPlugin, { type TikTokPluginOptions } from './plugins/tiktok.js'
import retentionPlugin, { type RetentionOptions } from './plugins/retention.js'
import offlineEventsPlugin, { type OfflineEventsOptions } from './plugins/offline-events.js'
import qualityPlugin, { type QualityOptions } from './plugins/quality.js'
import { settingsQualityRoutes } from './settings/quality-routes.js'
import alertsPlugin, { type AlertsOptions } from './plugins/alerts.js'
import { tiktokOAuthRoutes } from './tiktok-business/routes.js'
import type { DispatcherOptions } from './delivery/dispatcher.js'

export interface AppDeps {
  config: Config
  /** the time everything reads and schedules by (tests pass test/app-clock.ts's manual clock); default: the system clock */
  clock?: Clock
  /** an opened and migrated database (server.ts and tests open it; the app closes it) */
  database: OpenedDatabase
  /** a ready logger (server.ts's pino); else `logger` options; default: pino at LOG_LEVEL with secrets redacted */
  loggerInstance?: FastifyBaseLogger
  logger?: FastifyServerOptions['logger']
  /** delivery tuning (tests shorten backoff and reconciliation waits) */
  delivery?: Partial<DispatcherOptions>
  /** false: the dispatcher does not pick up stored work at start (tests that inspect the queue) */
  autoStartDelivery?: boolean
  /** TikTok connection tuning (tests poll export tasks faster or drive the background pass by hand) */
  tiktok?: Omit<TikTokPluginOptions, 'config'>
  /** retention purge tuning (tests run it by hand) */
  retention?: Omit<RetentionOptions, 'config'>
  /** offline event collection tuning (tests run it by hand) */
  offlineEvents?: Omit<OfflineEventsOptions, 'config'>
  /** the TikTok CRM events outbox's tuning (tests shorten its backoff) */
  quality?: Omit<QualityOptions, 'config'>
  /** health alert tuning (tests run the check by hand) */
  alerts?: AlertsOptions
}

declare module 'fastify' {
  interface FastifyInstance {
    clock: Clock
  }
}

/**
 * Builds the whole app without listening: server.ts listens, tests use inject() or listen({ port: 0 }).
 */
export async function buildApp({
  clock,
  config,
  database,
  logger,
  loggerInstance,
  delivery,
  autoStartDelivery,
  tiktok,
  retention,
  offlineEvents,
  quality,
  alerts,
}: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(loggerInstance ? { loggerInstance } : { logger: logger ?? loggerOptions(config.LOG_LEVEL) }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    // TikTok and Bitrix24 both wait on us: answer or fail fast rather than hold sockets forever.
    requestTimeout: 30_000,
  })

  // Route schemas are zod (the type provider types each handler from them); openapi.ts publishes them.
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)

  // Third-party plugins first.
  // Bitrix24 posts PHP-style nested keys (auth[member_id]=…); qs turns them into objects.
  await app.register(formbody, { parser: (body) => parseQs(body, { depth: 5, arrayLimit: 100, parameterLimit: 2000 }) })
  await app.register(view, { engine: { eta: new Eta() }, root: VIEWS_DIR })
  await app.register(openapiPlugin)

  // Then the app's own decorators; the clock first, everything below reads time from it.
  app.decorate('clock', clock ?? systemClock)
  await app.register(errorHandler)
  await app.register(databasePlugin, { database, config })
  await app.register(bitrix24Plugin, { config })
  await app.register(deliveryPlugin, {
    options: {
      reconcileAfterMs: config.DELIVERY_RECONCILE_AFTER_MS,
      requestMayRunMs: Math.max(config.B24_REQUEST_TIMEOUT_MS, config.B24_MAX_REQUEST_S * 1000),
      operatingLimitSec: config.B24_OPERATING_LIMIT_S,
      ...delivery,
    },
    autoStart: autoStartDelivery ?? true,
  })
  await app.register(tiktokPlugin, { config, ...tiktok })
  await app.register(retentionPlugin, { config, ...retention })
  // Before the offline events: a stage read queues its TikTok event in the same transaction.
  await app.register(qualityPlugin, { config, ...quality })
  await app.register(offlineEventsPlugin, { config, ...offlineEvents })
  await app.register(alertsPlugin, { ...alerts })
  await app.register(metricsPlugin)
  await app.register(settingsTabPlugin, { config })

  // Then routes.
  await app.register(healthRoutes)
  await app.register(bitrix24Routes(config))
  await app.register(tiktokRoutes, { config })
  await app.register(tiktokOAuthRoutes)
  await app.register(settingsPageRoutes(config))
  // The settings tab's API: every module in this scope runs behind the guard's session checks.
  await app.register(
    async (api) => {
      await api.register(settingsApiGuard)
      await api.register(settingsStateRoutes(config))
      await api.register(settingsWebhookRoutes(config))
      await api.register(settingsMappingRoutes)
      await api.register(settingsLeadRoutes)
      await api.register(settingsCardRoutes)
      await api.register(tiktokSettingsRoutes(config))
      await api.register(settingsAnalyticsRoutes({ sqlite: database.sqlite }))
      await api.register(settingsQualityRoutes)
    },
    { prefix: '/api/settings' },
  )
  await app.register(metricsRoutes(config))
  await app.register(staticFiles)
  return app
}
