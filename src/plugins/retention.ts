import fp from 'fastify-plugin'
import type { Timer } from '../clock.js'
import type { Config } from '../config.js'
import { isBusyError } from '../db/database.js'
import { createRetentionRepository } from '../db/repositories/retention.js'

const DAY_MS = 86_400_000

export interface RetentionOptions {
  config: Pick<Config, 'RETENTION_DAYS'>
  /** false: no background timer (tests call runOnce) */
  schedule?: boolean
  /** rows per statement: small, so a purge never holds the write lock long */
  batchSize?: number
  /** how often the purge runs */
  intervalMs?: number
  /** pause between batches, so webhooks' commits go first */
  pauseMs?: number
}

export interface RetentionResult {
  leads: number
  events: number
}

export interface RetentionService {
  /** the server default (RETENTION_DAYS), for portals without their own setting */
  days: number
  /** One full purge (all batches) as of `nowMs`; a second call while one runs joins it. */
  runOnce(nowMs?: number): Promise<RetentionResult>
}

declare module 'fastify' {
  interface FastifyInstance {
    retention: RetentionService
  }
}

/**
 * Retention: raw payloads of finished leads, delivered leads' answers and portal events older
 * than the portal's own retention (portal_settings.retention_days; null = RETENTION_DAYS, 0 = keep
 * everything) are purged in the background, portal by portal, in small batches with pauses between them,
 * so intake never waits behind a long delete. A busy database (another process holds the lock)
 * just ends the pass; the next one continues.
 */
export default fp<RetentionOptions>(
  async (app, { config, schedule = true, batchSize = 500, intervalMs = 3_600_000, pauseMs = 20 }) => {
    const repo = createRetentionRepository(app.db)
    const days = config.RETENTION_DAYS
    let running: Promise<RetentionResult> | null = null
    let stopped = false
    // A zero pause only yields to the event loop (no time passes, so no clock is asked to wait).
    const pause = () => (pauseMs > 0 ? app.clock.sleep(pauseMs) : new Promise<void>((resolve) => setImmediate(resolve)))

    async function drain(step: () => Promise<number>): Promise<number> {
      let total = 0
      while (!stopped) {
        const n = await step()
        total += n
        if (n < batchSize) break
        await pause()
      }
      return total
    }

    async function pass(nowMs: number): Promise<RetentionResult> {
      const result: RetentionResult = { leads: 0, events: 0 }
      try {
        for (const p of await repo.portalRetention()) {
          if (stopped) break
          const keepDays = p.retention_days ?? days
          if (keepDays <= 0) continue
          const cutoff = nowMs - keepDays * DAY_MS
          result.leads += await drain(() => repo.purgeLeadPayloads(p.member_id, cutoff, batchSize))
          result.events += await drain(() => repo.purgeEvents(p.member_id, new Date(cutoff).toISOString(), batchSize))
        }
      } catch (err) {
        if (isBusyError(err))
          app.log.warn({ err }, 'retention purge stopped: the database is locked; the next pass continues')
        else app.log.error({ err }, 'retention purge failed')
      }
      if (result.leads || result.events)
        app.log.info({ ...result, defaultRetentionDays: days }, 'retention: old payloads purged')
      return result
    }

    function runOnce(nowMs = app.clock.now()): Promise<RetentionResult> {
      // Runs even when RETENTION_DAYS is 0: a portal may have set its own retention.
      running ??= pass(nowMs).finally(() => {
        running = null
      })
      return running
    }

    app.decorate('retention', { days, runOnce })

    let timer: Timer | undefined
    if (schedule) {
      app.addHook('onReady', async () => {
        // The first pass waits a minute: start-up (re-queued leads, TikTok checks) goes first.
        timer = app.clock.setTimer(
          function tick() {
            void runOnce().finally(() => {
              if (!stopped) timer = app.clock.setTimer(tick, intervalMs)
            })
          },
          Math.min(60_000, intervalMs),
        )
      })
    }
    app.addHook('preClose', async () => {
      stopped = true
      timer?.cancel()
      await running
    })
  },
  { name: 'retention', dependencies: ['database'] },
)
