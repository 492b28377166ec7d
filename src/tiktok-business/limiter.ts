import PQueue from 'p-queue'

/**
 * One limiter for every call to TikTok's API for Business. The quota (about 10 requests/s and
 * 600/min) belongs to the developer app, so every portal's calls share it; a per-portal limiter
 * would let 50 portals send 50 times the quota and get `code 40100` back.
 *
 * Two nested p-queues in strict (sliding-window) mode:
 * - the inner one admits at most `perSecond` starts in any rolling second. It is the gate a call
 *   passes last, so its count is taken at the instant the call really starts: exact.
 * - the outer one admits at most `perMinute` in any rolling minute. It hands one call at a time
 *   (concurrency 1) to the inner queue and counts that hand-over, which can be earlier than the
 *   real start when the inner queue is full. With one call in hand-over at most, the real starts
 *   in a rolling minute can exceed the outer count by one, so the outer cap is `perMinute − 1`
 *   (for the default 600/min the second limit already caps a minute at 600, so nothing is lost).
 *
 * `run()` returns what `fn` returns; the limiter never retries (the client does, on 40100).
 * It keeps p-queue's own time (Date.now and timers inside p-queue), not the app's clock: the
 * windows are TikTok's real-time quota, and p-queue has no way to be handed a clock.
 * @see https://business-api.tiktok.com/portal/docs (rate limits / quota)
 */
export interface TikTokLimiter {
  run<T>(fn: () => Promise<T>): Promise<T>
  /** Calls waiting for a slot (not yet started). */
  pending(): number
  /** Rejects the calls still waiting for a slot and refuses new ones; started calls run on. */
  close(): void
}

export interface TikTokLimiterOptions {
  perSecond?: number
  perMinute?: number
  /** Window lengths; only tests change them (they cannot wait a minute). */
  secondMs?: number
  minuteMs?: number
  /**
   * Added to both windows (default 50 ms). p-queue stamps a start with `Date.now()` (whole ms) when
   * it dispatches and its timers can fire a fraction of a millisecond early, so two starts
   * stamped 1000 ms apart can really be 999.4 ms apart; and TikTok counts at arrival, after
   * connection set-up and network jitter (a fresh TLS connection arrives later than a reused one).
   * 50 ms of slack keeps the real windows within the quota at a cost of 5 % of the per-second rate.
   */
  marginMs?: number
}

export function createTikTokLimiter(opts: TikTokLimiterOptions = {}): TikTokLimiter {
  const perSecond = positive('perSecond', opts.perSecond ?? 10)
  const perMinute = positive('perMinute', opts.perMinute ?? 600)
  const secondMs = positive('secondMs', opts.secondMs ?? 1000)
  const minuteMs = positive('minuteMs', opts.minuteMs ?? 60_000)
  const marginMs = Math.max(0, opts.marginMs ?? 50)

  const perSecondQueue = new PQueue({ intervalCap: perSecond, interval: secondMs + marginMs, strict: true })
  const perMinuteQueue = new PQueue({
    concurrency: 1,
    intervalCap: Math.max(1, perMinute - 1),
    interval: minuteMs + marginMs,
    strict: true,
  })
  let closed = false
  /** Calls not yet started, with the way to reject them on close. */
  const waiting = new Set<(err: Error) => void>()

  return {
    run<T>(fn: () => Promise<T>): Promise<T> {
      if (closed) return Promise.reject(new Error('the TikTok limiter is closed'))
      return new Promise<T>((resolve, reject) => {
        waiting.add(reject)
        // The outer task ends when the inner queue starts `fn` (the hand-over), not when `fn` ends,
        // so calls still run concurrently; only the hand-over is one at a time.
        perMinuteQueue
          .add(
            () =>
              new Promise<void>((handedOver) => {
                perSecondQueue
                  .add(() => {
                    waiting.delete(reject)
                    handedOver()
                    return fn()
                  })
                  .then(resolve, reject)
              }),
          )
          .catch(reject)
      })
    },
    pending: () => waiting.size,
    close() {
      closed = true
      perMinuteQueue.clear()
      perSecondQueue.clear()
      perMinuteQueue.pause()
      perSecondQueue.pause()
      const err = new Error('the TikTok limiter is closed')
      for (const reject of waiting) reject(err)
      waiting.clear()
    },
  }
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number (got ${v})`)
  return v
}
