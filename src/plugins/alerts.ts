import fp from 'fastify-plugin'
import { CHECK_EVERY_MS } from '../alerts/kinds.js'
import { type Alerts, createAlerts } from '../alerts/service.js'
import type { Timer } from '../clock.js'
import { createAlertRepository } from '../db/repositories/alerts.js'
import { onConnectionChecked } from '../tiktok-business/health.js'

export interface AlertsOptions {
  /** false: no start-up pass and no timer (tests call runOnce) */
  schedule?: boolean
  /** how often the periodic check runs (ms of the app's clock) */
  everyMs?: number
  /** while a condition lasts, its alert is repeated at most this often */
  repeatMs?: number
  /**
   * Leads ending as failed evaluate their portal's alerts at once (coalesced: kinds.ts
   * FAILED_QUIET_MS / FAILED_MAX_WAIT_MS); false: only the checks do (tests that run them by hand)
   */
  onFailure?: false | { quietMs?: number; maxWaitMs?: number }
}

declare module 'fastify' {
  interface FastifyInstance {
    alerts: Alerts
  }
}

/**
 * Health alerts inside Bitrix24 (src/alerts/): a periodic check of every portal on the app's clock
 * (like offline-events.ts), plus an immediate one when a TikTok health check stores its outcome
 * and when leads end as failed (the lead repository's onFailed).
 * Sending goes through the portal's request queue (app.b24), at the backlog's priority.
 */
export default fp<AlertsOptions>(
  async (app, { schedule = true, everyMs = CHECK_EVERY_MS, repeatMs, onFailure = {} }) => {
    const alerts = createAlerts({
      repo: createAlertRepository(app.db),
      portals: app.portals,
      settings: app.settings,
      tiktok: app.tiktok.repo,
      counts: app.leadCounts,
      b24: app.b24,
      log: app.log,
      clock: app.clock,
      ...(repeatMs !== undefined ? { repeatMs } : {}),
      ...(onFailure && onFailure.quietMs !== undefined ? { failedQuietMs: onFailure.quietMs } : {}),
      ...(onFailure && onFailure.maxWaitMs !== undefined ? { failedMaxWaitMs: onFailure.maxWaitMs } : {}),
    })
    app.decorate('alerts', alerts)
    // A connection found lost (or back) is told at once, not at the next periodic pass.
    if (app.tiktok.ctx) onConnectionChecked(app.tiktok.ctx, (conn) => void alerts.evaluate(conn.member_id))
    // So are leads that end as failed (a burst coalesced into one evaluation).
    const unhook = onFailure ? app.leads.onFailed((memberId) => alerts.leadsFailed(memberId)) : () => undefined

    let timer: Timer | undefined
    let running: Promise<void> | null = null
    let stopped = false
    const runOnce = () => {
      running ??= alerts.runOnce().finally(() => {
        running = null
      })
      return running
    }
    const every = () => {
      timer = app.clock.setTimer(() => {
        void runOnce().catch(() => undefined)
        if (!stopped) every()
      }, everyMs)
    }
    if (schedule)
      app.addHook('onReady', async () => {
        void runOnce().catch(() => undefined)
        every()
      })
    app.addHook('preClose', async () => {
      stopped = true
      timer?.cancel()
      unhook()
      alerts.close()
      await running?.catch(() => undefined)
      await alerts.idle()
    })
  },
  { name: 'alerts', dependencies: ['database', 'bitrix24', 'tiktok'] },
)
