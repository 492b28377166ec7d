import { type Clock, systemClock } from '../clock.js'
import { RATE_WINDOW_MS } from './limits.js'

/**
 * One queue per portal: every REST request to a portal starts through it, so the app never
 * starts more than `rate` requests in any rolling second (strict sliding window) nor has more
 * than `rate` running at once, whatever part of the app asks. Bitrix24's bucket drains 2/s
 * (5/s on Enterprise) and counts a batch once.
 *
 * The rate is read from `rateFor` every time a request may start, so a changed rate (2 → 5 in
 * the settings) applies to the very next request, even while a backlog is waiting. Lowering it
 * is safe too: nothing starts until fewer than the new rate started within the last second.
 * @see https://apidocs.bitrix24.com/limits.html
 */
interface Task {
  priority: number
  start: () => void
}

interface PortalQueue {
  waiting: Task[]
  running: number
  /** start times (ms) of the requests started within the last second */
  starts: number[]
  pausedUntil: number
  /** when the armed wake-up fires (this clock's ms), or null */
  wakeAt: number | null
  /** bumped to disown an armed wake-up (a sleep cannot be cancelled) */
  wakeGen: number
}

const WINDOW_MS = RATE_WINDOW_MS

export class PortalQueues {
  readonly #queues = new Map<string, PortalQueue>()

  constructor(
    private readonly rateFor: (memberId: string) => number,
    private readonly clock: Pick<Clock, 'now' | 'sleep'> = systemClock,
  ) {}

  #queue(memberId: string): PortalQueue {
    let q = this.#queues.get(memberId)
    if (!q) {
      q = { waiting: [], running: 0, starts: [], pausedUntil: 0, wakeAt: null, wakeGen: 0 }
      this.#queues.set(memberId, q)
    }
    return q
  }

  /** Run `fn` when the portal's budget allows. Higher priority goes first (people before the backlog), FIFO within a priority. */
  run<T>(memberId: string, fn: () => Promise<T>, priority = 0): Promise<T> {
    const q = this.#queue(memberId)
    return new Promise<T>((resolve, reject) => {
      const task: Task = {
        priority,
        start: () => {
          q.running += 1
          let p: Promise<T>
          try {
            p = fn()
          } catch (err) {
            p = Promise.reject(err)
          }
          p.then(resolve, reject).finally(() => {
            q.running -= 1
            this.#pump(memberId)
          })
        },
      }
      const at = q.waiting.findIndex((w) => w.priority < priority)
      if (at === -1) q.waiting.push(task)
      else q.waiting.splice(at, 0, task)
      this.#pump(memberId)
    })
  }

  #pump(memberId: string): void {
    const q = this.#queues.get(memberId)
    if (!q) return
    for (;;) {
      if (q.waiting.length === 0) return
      const rate = Math.max(1, this.rateFor(memberId))
      if (q.running >= rate) return
      const t = this.clock.now()
      while (q.starts.length && q.starts[0]! <= t - WINDOW_MS) q.starts.shift()
      const wakeAt = Math.max(
        q.pausedUntil,
        q.starts.length >= rate ? q.starts[q.starts.length - rate]! + WINDOW_MS : 0,
      )
      if (wakeAt > t) {
        this.#wakeAt(memberId, q, wakeAt - t)
        return
      }
      q.starts.push(t)
      q.waiting.shift()!.start()
    }
  }

  #wakeAt(memberId: string, q: PortalQueue, ms: number): void {
    const at = this.clock.now() + ms
    // An earlier wake-up already armed pumps first and arms again for the rest.
    if (q.wakeAt !== null && q.wakeAt <= at) return
    q.wakeAt = at
    const gen = ++q.wakeGen
    // A sleep, not a timer: a request waiting here is work in progress, so the wait keeps the
    // process alive (as the setTimeout it replaced did); clock.setTimer's timers never do.
    void this.clock.sleep(ms).then(() => {
      if (q.wakeGen !== gen) return
      q.wakeAt = null
      this.#pump(memberId)
    })
  }

  /** Hold the portal's requests for `ms` (Bitrix24 said QUERY_LIMIT_EXCEEDED: others share the bucket). */
  pause(memberId: string, ms: number): void {
    const q = this.#queue(memberId)
    q.pausedUntil = Math.max(q.pausedUntil, this.clock.now() + ms)
    this.#pump(memberId)
  }

  /** The rate changed (settings): let waiting requests use it now. */
  rateChanged(memberId: string): void {
    this.#pump(memberId)
  }

  pending(memberId: string): number {
    const q = this.#queues.get(memberId)
    return q ? q.waiting.length + q.running : 0
  }

  close(): void {
    for (const q of this.#queues.values()) {
      q.wakeGen += 1
      q.wakeAt = null
      q.pausedUntil = 0
      // Requests not yet started are dropped, as before (nothing of them reached Bitrix24).
      q.waiting = []
    }
  }
}
