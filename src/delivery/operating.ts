import { MAX_REQUEST_S } from '../bitrix24/limits.js'

/**
 * Bitrix24's second budget, per app, per portal, per method: the "operating" time a method spent
 * on the server within the last ten minutes (ten one-minute baskets). Every answer says how much is
 * spent (`time.operating`) and when the oldest basket drops out (`time.operating_reset_at`); a
 * batch says it per command in `result_time`. Past the limit (480 s) the method answers
 * OPERATION_TIME_LIMIT while other methods still work.
 *
 * This keeps what the answers said, per portal and method, and tells the dispatcher how many
 * commands it may send now and how long to hold otherwise. Nothing is guessed:
 * - a command's cost is what the figure grew by from one command to the next (same oldest basket),
 *   with its spread, so a batch is sized to stay under the limit even when its commands cost more
 *   than the average;
 * - commands handed out and not yet answered count against what is left, so two batches in
 *   flight never both spend the same remainder;
 * - between resets the figure only grows (it is this app's own spending), so it stays an upper
 *   bound after a reset; at the reset a batch sized by that bound (at least one command) reads the
 *   new figure, and the next batch is sized by it;
 * - a refused method waits for the reset it was told about, then each later one.
 * @see https://apidocs.bitrix24.com/settings/performance/limits.html "Resource Intensity Limits"
 */

export interface OperatingTime {
  /** seconds of server time the method has spent in the window */
  operating: number
  /** when the oldest basket drops out (ms since the epoch) */
  resetAt: number | null
}

interface MethodState {
  /** the last figure, seconds: exact until the reset, an upper bound after it */
  operating: number
  /** the reset the last figure named (ms); null once it has passed */
  resetAt: number | null
  /** a basket has left since the last figure: how much is free is known only after the next answer */
  stale: boolean
  /** observed seconds per command (moving average) and its mean absolute deviation */
  cost: number | null
  dev: number
  /** commands handed out by take() and not answered yet (oldest first) */
  pending: Array<{ n: number; at: number }>
  /** refused with OPERATION_TIME_LIMIT: no command of this method until then */
  suspendedUntil: number
  refusals: number
}

export interface OperatingOptions {
  /** the limit we keep under, seconds (B24_OPERATING_LIMIT_S; Bitrix24's is 480) */
  limitSec: number
  /** one basket, ms: how far to look when a refusal comes with no reset time known */
  basketMs: number
  /**
   * ms added to every reset time: `operating_reset_at` is in whole seconds, so the basket leaves
   * up to a second after the time named (default 0)
   */
  resetSlackMs?: number
  /** how long handed-out commands with no answer (a lost batch) count against the budget, ms (default 60 s) */
  pendingTtlMs?: number
}

/** `time` of an answer (or a batch's `result_time[key]`) → operating seconds and reset time. */
export function operatingOf(time: unknown): (OperatingTime & { duration: number | null }) | null {
  if (!time || typeof time !== 'object') return null
  const t = time as Record<string, unknown>
  const operating = Number(t.operating)
  if (!Number.isFinite(operating)) return null
  const reset = Number(t.operating_reset_at)
  const duration = Number(t.duration ?? t.processing)
  // operating_reset_at is a Unix time in seconds (a value in ms is taken as it is).
  const resetAt = Number.isFinite(reset) && reset > 0 ? (reset > 1e12 ? reset : reset * 1000) : null
  return { operating, resetAt, duration: Number.isFinite(duration) ? duration : null }
}

/** Spread kept above the mean when sizing a batch: about 2 standard deviations of its sum. */
const Z = 2
/** mean absolute deviation → standard deviation (normal) */
const MAD_TO_SD = 1.25
const ALPHA = 0.2

export class OperatingBudget {
  readonly #state = new Map<string, MethodState>()
  readonly #slack: number
  readonly #ttl: number

  constructor(
    private readonly opts: OperatingOptions,
    /** the clock's now (app.clock via the dispatcher) */
    private readonly now: () => number,
  ) {
    this.#slack = opts.resetSlackMs ?? 0
    this.#ttl = opts.pendingTtlMs ?? MAX_REQUEST_S * 1000
  }

  #get(memberId: string, method: string): MethodState {
    const key = `${memberId}\u0000${method.toLowerCase()}`
    let s = this.#state.get(key)
    if (!s) {
      s = { operating: 0, resetAt: null, stale: false, cost: null, dev: 0, pending: [], suspendedUntil: 0, refusals: 0 }
      this.#state.set(key, s)
    }
    return s
  }

  /** Expire lost hand-outs and notice a reset that has passed. */
  #refresh(s: MethodState, t: number): void {
    while (s.pending.length && s.pending[0]!.at + this.#ttl <= t) s.pending.shift()
    // Past the reset we were told of, the oldest basket has dropped out: the figure is a bound.
    if (s.resetAt !== null && s.resetAt + this.#slack <= t) {
      s.resetAt = null
      s.stale = true
    }
  }

  #pending(s: MethodState): number {
    return s.pending.reduce((n, p) => n + p.n, 0)
  }

  /** Commands (on top of those in flight) that fit under the limit: Infinity while nothing is known. */
  #room(s: MethodState): number {
    if (s.cost === null || s.cost <= 0) return Infinity
    const left = this.opts.limitSec - s.operating
    if (left <= 0) return 0
    const c = s.cost
    const sd = s.dev * MAD_TO_SD
    // The largest m with m·c + Z·sd·√m ≤ left, counting the commands already in flight.
    const m = sd > 0 ? ((-Z * sd + Math.sqrt(Z * Z * sd * sd + 4 * c * left)) / (2 * c)) ** 2 : left / c
    return Math.max(0, Math.floor(m + 1e-9) - this.#pending(s))
  }

  /** What an answer said (one command's time). `sample`: that many commands cost that much in all (their duration). */
  observe(memberId: string, method: string, time: OperatingTime, sample?: { commands: number; costSec: number }): void {
    const s = this.#get(memberId, method)
    const t = this.now()
    this.#refresh(s, t)
    // Answered: these commands no longer count as in flight.
    let done = sample?.commands ?? 1
    while (done > 0 && s.pending.length) {
      const p = s.pending[0]!
      const take = Math.min(p.n, done)
      p.n -= take
      done -= take
      if (p.n === 0) s.pending.shift()
    }
    // An answer from before the last reset we know of (batches answered out of order): older news.
    if (time.resetAt !== null && s.resetAt !== null && time.resetAt < s.resetAt) return
    const sameWindow = !s.stale && time.resetAt !== null && time.resetAt === s.resetAt
    let per: number | null = null
    // The figure grew by this command's cost (nothing left the window in between).
    if (sameWindow && time.operating > s.operating) per = time.operating - s.operating
    else if (s.cost === null && sample && sample.commands > 0 && sample.costSec > 0)
      per = sample.costSec / sample.commands
    if (per !== null) {
      if (s.cost === null) s.cost = per
      else {
        s.dev = s.dev * (1 - ALPHA) + Math.abs(per - s.cost) * ALPHA
        s.cost = s.cost * (1 - ALPHA) + per * ALPHA
      }
    }
    // Within one window the figure only grows; answers to batches in flight together may come in any order.
    s.operating = sameWindow ? Math.max(s.operating, time.operating) : time.operating
    if (time.resetAt !== null) s.resetAt = time.resetAt
    s.stale = false
    s.refusals = 0
  }

  /** Bitrix24 refused the method (OPERATION_TIME_LIMIT): hold it until the reset we were told of, or the next one. */
  refused(memberId: string, method: string): number {
    const s = this.#get(memberId, method)
    const t = this.now()
    s.refusals += 1
    const reset = s.resetAt !== null ? s.resetAt + this.#slack : null
    let until = reset !== null && reset > t ? reset : t + this.opts.basketMs
    // Refused again after that reset: each later reset is a basket further on.
    if (s.suspendedUntil >= until) until = s.suspendedUntil + this.opts.basketMs
    s.suspendedUntil = until
    s.operating = Math.max(s.operating, this.opts.limitSec)
    // What was in flight was answered (refused) or will be; after the hold one batch reads the figure.
    s.pending = []
    s.resetAt = null
    s.stale = true
    return until
  }

  /**
   * ms to wait before sending `commands` commands of `method` (0: go now). After a reset has
   * passed it is 0 as long as nothing is in flight: one batch (of `take()` commands) reads the new figure.
   */
  waitMs(memberId: string, method: string, commands: number): number {
    return this.hold(memberId, method, commands).ms
  }

  /**
   * waitMs(), and whether the limit is what holds the method with nothing of ours in flight (what
   * the settings tab shows); false while only answers in flight are awaited.
   */
  hold(memberId: string, method: string, commands: number): { ms: number; limited: boolean } {
    const s = this.#get(memberId, method)
    const t = this.now()
    if (s.suspendedUntil > t) return { ms: s.suspendedUntil - t, limited: true }
    this.#refresh(s, t)
    if (this.#room(s) >= commands) return { ms: 0, limited: false }
    const idle = s.pending.length === 0
    if (s.stale && idle) return { ms: 0, limited: false }
    if (s.resetAt !== null) return { ms: s.resetAt + this.#slack - t, limited: idle }
    // Waiting for the answers in flight (or a reset not yet named): look again shortly.
    return idle ? { ms: this.opts.basketMs, limited: true } : { ms: Math.min(1000, this.opts.basketMs), limited: false }
  }

  /** How many commands fit now, at most `max` (all of them while nothing is known); `probe`: the least sent to read a stale figure. */
  fits(memberId: string, method: string, max: number, probe = 1): number {
    const s = this.#get(memberId, method)
    const t = this.now()
    if (s.suspendedUntil > t) return 0
    this.#refresh(s, t)
    const room = Math.min(max, this.#room(s))
    return s.stale && s.pending.length === 0 ? Math.min(max, Math.max(room, probe)) : room
  }

  /** fits(), and the commands count as in flight until their answers are observed (or given back). */
  take(memberId: string, method: string, max: number, probe = 1): number {
    const n = this.fits(memberId, method, max, probe)
    if (n > 0) this.#get(memberId, method).pending.push({ n, at: this.now() })
    return n
  }

  /** Commands taken but not sent (fewer leads were due): no longer in flight. */
  giveBack(memberId: string, method: string, n: number): void {
    const s = this.#get(memberId, method)
    let left = n
    for (let i = s.pending.length - 1; i >= 0 && left > 0; i--) {
      const p = s.pending[i]!
      const back = Math.min(p.n, left)
      p.n -= back
      left -= back
      if (p.n === 0) s.pending.splice(i, 1)
    }
  }

  suspendedUntil(memberId: string, method: string): number {
    return this.#get(memberId, method).suspendedUntil
  }

  forget(memberId: string): void {
    for (const key of this.#state.keys()) if (key.startsWith(`${memberId}\u0000`)) this.#state.delete(key)
  }
}
