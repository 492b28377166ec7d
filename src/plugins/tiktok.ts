import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { Timer } from '../clock.js'
import { type Config, tiktokApp } from '../config.js'
import type { SecretBox } from '../crypto/secret-box.js'
import { createTikTokRepository, type TikTokRepository } from '../db/repositories/tiktok.js'
import type { TikTokConnection } from '../db/schema.js'
import { createTikTokApi } from '../tiktok-business/api-client.js'
import { backfillForm } from '../tiktok-business/backfill.js'
import { createTikTokConnector, type TikTokConnector } from '../tiktok-business/connector.js'
import { DAY_MS, reason, type TikTokContext } from '../tiktok-business/context.js'
import { isWanted } from '../tiktok-business/forms.js'
import { checkConnection } from '../tiktok-business/health.js'
import { createTikTokLimiter, type TikTokLimiter } from '../tiktok-business/limiter.js'
import { drainUnsubscribes, liveSubscriptionIds } from '../tiktok-business/subscriptions.js'

export interface TikTokService {
  /** null when TIKTOK_APP_ID / TIKTOK_APP_SECRET are not set: the webhook URL still works */
  ctx: TikTokContext | null
  connector: TikTokConnector | null
  repo: TikTokRepository
  box: SecretBox
  /** the app secret TikTok signs its pushes with, when configured */
  appSecret: string | null
  /** the one app-wide limiter of the developer app's quota (other TikTok clients share it) */
  limiter: TikTokLimiter
  /** One pass of the background work: cancel outbox, due health checks, due backfills. */
  runDue(): Promise<void>
  /** The health check of one connection, now. */
  check(conn: TikTokConnection): Promise<TikTokConnection>
  /** Uninstall: every connection of the portal goes, its subscriptions are cancelled (configured or not). */
  forgetPortal(memberId: string): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    tiktok: TikTokService
  }
}

export interface TikTokPluginOptions {
  config: Config
  /** tests poll TikTok's export tasks faster */
  taskPollMs?: number
  /** false: no background timer (tests call runDue) */
  schedule?: boolean
}

/**
 * The TikTok for Business connection: API client behind one app-wide limiter, the connector, and a
 * background loop for the daily checks, daily backfills and subscription cancellations.
 */
export default fp<TikTokPluginOptions>(
  async (app, { config, taskPollMs = 2000, schedule = true }) => {
    const repo = createTikTokRepository(app.db)
    const box = app.secretBox
    const creds = tiktokApp(config)
    const limiter = createTikTokLimiter()
    const ctx: TikTokContext | null = creds
      ? {
          api: createTikTokApi({
            apiUrl: config.TIKTOK_API_URL,
            appId: creds.appId,
            appSecret: creds.appSecret,
            timeoutMs: config.TIKTOK_REQUEST_TIMEOUT_MS,
            limiter,
            log: app.log,
            clock: app.clock,
          }),
          repo,
          leads: app.leads,
          settings: app.settings,
          portals: app.portals,
          b24: app.b24,
          dispatcher: app.dispatcher,
          box,
          log: app.log,
          clock: app.clock,
          taskPollMs,
        }
      : null
    const connector =
      ctx && creds
        ? createTikTokConnector(ctx, {
            appId: creds.appId,
            authUrl: config.TIKTOK_AUTH_URL,
            stateSecret: config.SESSION_SECRET ?? randomBytes(32).toString('hex'),
          })
        : null
    const checkMs = config.TIKTOK_CHECK_INTERVAL_S * 1000
    const backfillMs = config.TIKTOK_BACKFILL_INTERVAL_S * 1000

    let running: Promise<void> | null = null
    let stopped = false
    async function pass(c: TikTokContext): Promise<void> {
      const now = c.clock.now()
      await repo.purgeExpired(now)
      await drainUnsubscribes(c)
      let live: Set<string> | undefined
      for (const conn of await repo.allConnections()) {
        if (stopped) return
        // A dead token stays dead: only a reconnect (a new authorisation) helps.
        if (conn.status === 'token_invalid' || (conn.last_check_at ?? 0) > now - checkMs) continue
        live ??= await liveSubscriptionIds(c.api)
        await checkConnection(c, conn, live)
      }
      for (const conn of await repo.allConnections()) {
        if (conn.status === 'token_invalid') continue
        for (const form of await repo.listForms(conn.advertiser_id)) {
          if (stopped) return
          if (!isWanted(conn, form) || (form.last_backfill_at ?? conn.connected_at) > now - backfillMs) continue
          // Daily: everything since the connection (minus the opted-in import window) that is not stored yet.
          await backfillForm(c, conn, form, conn.connected_at - conn.import_days * DAY_MS)
        }
      }
    }
    function runDue(): Promise<void> {
      if (!ctx) return Promise.resolve()
      running ??= pass(ctx)
        .catch((err) => app.log.warn({ err: reason(err) }, 'TikTok background pass failed'))
        .finally(() => {
          running = null
        })
      return running
    }

    async function check(conn: TikTokConnection): Promise<TikTokConnection> {
      if (!ctx) throw new Error('TikTok is not configured')
      return checkConnection(ctx, conn)
    }
    async function forgetPortal(memberId: string): Promise<void> {
      if (connector) return connector.forgetPortal(memberId)
      // Not configured (any more): still forget the tokens; the outbox cancels once it is configured.
      await repo.forgetPortal(memberId, app.clock.now())
    }

    app.decorate('tiktok', {
      ctx,
      connector,
      repo,
      box,
      appSecret: creds?.appSecret ?? null,
      limiter,
      runDue,
      check,
      forgetPortal,
    })

    let timer: Timer | undefined
    if (ctx && schedule) {
      const tickMs = Math.max(1000, Math.min(60_000, checkMs, backfillMs))
      // Every tickMs of the app's clock (a pass still running is joined, as an interval did).
      const tick = () => {
        void runDue()
        if (!stopped) timer = app.clock.setTimer(tick, tickMs)
      }
      app.addHook('onReady', async () => tick())
    }
    app.addHook('preClose', async () => {
      stopped = true
      timer?.cancel()
      await running
      limiter.close()
    })
  },
  { name: 'tiktok', dependencies: ['database', 'bitrix24', 'delivery'] },
)
