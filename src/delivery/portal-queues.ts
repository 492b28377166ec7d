import PQueue from 'p-queue'

/**
 * One p-queue per portal: every REST request to a portal starts through it, so the app never
 * sends more than `rate` requests in any rolling second (strict sliding window), whatever part
 * of the app asks. Bitrix24's bucket drains 2/s (5/s on Enterprise) and counts a batch once.
 * @see https://apidocs.bitrix24.com/limits.html
 */
export class PortalQueues {
  readonly #queues = new Map<string, { q: PQueue; rate: number }>()
  readonly #resumeTimers = new Map<string, NodeJS.Timeout>()

  constructor(private readonly rateFor: (memberId: string) => number) {}

  #queue(memberId: string): PQueue {
    const rate = this.rateFor(memberId)
    const entry = this.#queues.get(memberId)
    // A new rate takes effect once the old queue is idle, so two windows never run side by side.
    if (entry && (entry.rate === rate || entry.q.size + entry.q.pending > 0)) return entry.q
    const q = new PQueue({ concurrency: rate, intervalCap: rate, interval: 1000, strict: true })
    this.#queues.set(memberId, { q, rate })
    return q
  }

  /** Run `fn` when the portal's budget allows. Higher priority goes first (people before the backlog). */
  run<T>(memberId: string, fn: () => Promise<T>, priority = 0): Promise<T> {
    return this.#queue(memberId).add(fn, { priority }) as Promise<T>
  }

  /** Hold the portal's requests for `ms` (Bitrix24 said QUERY_LIMIT_EXCEEDED: others share the bucket). */
  pause(memberId: string, ms: number): void {
    const q = this.#queue(memberId)
    q.pause()
    clearTimeout(this.#resumeTimers.get(memberId))
    const timer = setTimeout(() => {
      this.#resumeTimers.delete(memberId)
      q.start()
    }, ms)
    timer.unref()
    this.#resumeTimers.set(memberId, timer)
  }

  pending(memberId: string): number {
    const e = this.#queues.get(memberId)
    return e ? e.q.size + e.q.pending : 0
  }

  close(): void {
    for (const t of this.#resumeTimers.values()) clearTimeout(t)
    for (const { q } of this.#queues.values()) {
      q.clear()
      q.start()
    }
  }
}
