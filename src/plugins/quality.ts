import fp from 'fastify-plugin'
import type { Timer } from '../clock.js'
import { type Config, tiktokApp } from '../config.js'
import { createQualityRepository, type QualityRepository } from '../db/repositories/quality.js'
import type { BackoffOptions } from '../delivery/backoff.js'
import { createOutbox, type PassResult } from '../quality/outbox.js'
import { createEventsApi, type EventsApi } from '../tiktok-business/events-api.js'
import { createTikTokLimiter } from '../tiktok-business/limiter.js'

export interface QualityOptions {
  config: Config
  /** the outbox's retry delays (tests shorten them) */
  backoff?: BackoffOptions
  /** false: no start-up pass and no timer (tests call runOnce) */
  schedule?: boolean
}

export interface QualityService {
  repo: QualityRepository
  /** null when TikTok is not configured on this server */
  events: EventsApi | null
  /** One outbox pass now; a call while one runs is joined, and one more pass follows it. */
  runOnce(): Promise<PassResult>
  /** Something was queued: send it soon. */
  notify(): void
}

declare module 'fastify' {
  interface FastifyInstance {
    quality: QualityService
  }
}

/** A pass at least this often, whatever is due (a safety net; passes normally follow the queue). */
const MAX_WAIT_MS = 60_000

/**
 * Lead quality back to TikTok: the outbox of CRM events (src/quality/outbox.ts), started with the
 * app. At start it sends what an earlier process left pending (a crash between a send and its mark
 * resends: TikTok counts it once), then after each pass waits for the next due event.
 */
export default fp<QualityOptions>(
  async (app, { config, backoff, schedule = true }) => {
    const repo = createQualityRepository(app.db)
    const creds = tiktokApp(config)
    // event/track's own quota: its own limiter, never the app-wide one (reference/tiktok.md §8).
    const trackLimiter = createTikTokLimiter({ perSecond: 20, perMinute: 1200 })
    const events = creds
      ? createEventsApi({
          apiUrl: config.TIKTOK_API_URL,
          appId: creds.appId,
          appSecret: creds.appSecret,
          timeoutMs: config.TIKTOK_REQUEST_TIMEOUT_MS,
          limiter: app.tiktok.limiter,
          trackLimiter,
          log: app.log,
          clock: app.clock,
        })
      : null
    const outbox = createOutbox({
      repo,
      events,
      connection: (advertiserId) => app.tiktok.repo.findConnection(advertiserId),
      openToken: (sealed) => app.secretBox.open(sealed),
      log: app.log,
      clock: app.clock,
      ...(backoff ? { backoff } : {}),
    })

    let running: Promise<PassResult> | null = null
    let again = false
    let stopped = false
    let timer: Timer | undefined

    async function loop(): Promise<PassResult> {
      const total: PassResult = { sent: 0, retried: 0, failed: 0, tooOld: 0 }
      do {
        again = false
        const r = await outbox.pass()
        total.sent += r.sent
        total.retried += r.retried
        total.failed += r.failed
        total.tooOld += r.tooOld
      } while (again && !stopped)
      if (total.sent || total.failed || total.tooOld) app.log.info({ ...total }, 'TikTok CRM events pass')
      return total
    }

    async function arm(): Promise<void> {
      if (stopped || !schedule) return
      const due = await repo.nextDueAt()
      const wait = due === null ? MAX_WAIT_MS : Math.min(MAX_WAIT_MS, Math.max(0, due - app.clock.now()))
      timer?.cancel()
      timer = app.clock.setTimer(() => void runOnce().catch(() => undefined), wait)
    }

    function runOnce(): Promise<PassResult> {
      if (running) {
        again = true
        return running
      }
      running = loop()
        .catch((err) => {
          app.log.warn({ err }, 'TikTok CRM events pass failed')
          return { sent: 0, retried: 0, failed: 0, tooOld: 0 }
        })
        .finally(() => {
          running = null
          void arm().catch(() => undefined)
        })
      return running
    }

    app.decorate('quality', {
      repo,
      events,
      runOnce,
      notify: () => {
        if (!stopped && schedule) void runOnce().catch(() => undefined)
      },
    })

    if (schedule) app.addHook('onReady', async () => void runOnce().catch(() => undefined))
    app.addHook('preClose', async () => {
      stopped = true
      timer?.cancel()
      await running?.catch(() => undefined)
      trackLimiter.close()
    })
  },
  { name: 'quality', dependencies: ['database', 'tiktok'] },
)
