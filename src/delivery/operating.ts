/**
 * Bitrix24's second budget, per app, per portal, per method: the "operating" time a method spent
 * on the server within the last ten minutes (ten one-minute baskets). Every answer says how much is
 * spent (`time.operating`) and when the oldest basket drops out (`time.operating_reset_at`); a
 * batch says it per command in `result_time`. Past the limit (480 s) the method answers
 * OPERATION_TIME_LIMIT while other methods still work.
 *
 * This keeps what the answers said, per portal and method, estimates a command's cost from what
 * it really cost, and tells the dispatcher how long to hold a batch of N commands: nothing is
 * guessed ahead of the first answer, and a refused method waits for the reset it was told about.
 * @see https://apidocs.bitrix24.com/settings/performance/limits.html "Resource Intensity Limits"
 */

export interface OperatingTime {
  /** seconds of server time the method has spent in the window */
  operating: number
  /** when the oldest basket drops out (ms since the epoch) */
  resetAt: number | null
}

interface MethodState {
  operating: number
  resetAt: number | null
  /** observed seconds per command (moving average) */
  cost: number | null
  /** refused with OPERATION_TIME_LIMIT: no command of this method until then */
  suspendedUntil: number
  refusals: number
}

export interface OperatingOptions {
  /** the limit we keep under, seconds (B24_OPERATING_LIMIT_S; Bitrix24's is 480) */
  limitSec: number
  /** one basket, ms: how far to look when a refusal comes with no reset time known */
  basketMs: number
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

export class OperatingBudget {
  readonly #state = new Map<string, MethodState>()

  constructor(
    private readonly opts: OperatingOptions,
    private readonly now: () => number = Date.now,
  ) {}

  #get(memberId: string, method: string): MethodState {
    const key = `${memberId}\u0000${method.toLowerCase()}`
    let s = this.#state.get(key)
    if (!s) {
      s = { operating: 0, resetAt: null, cost: null, suspendedUntil: 0, refusals: 0 }
      this.#state.set(key, s)
    }
    return s
  }

  /** What an answer said. `commands` with `costSec`: that many commands cost that much in all (a batch's result_time). */
  observe(memberId: string, method: string, time: OperatingTime, sample?: { commands: number; costSec: number }): void {
    const s = this.#get(memberId, method)
    s.operating = time.operating
    if (time.resetAt !== null) s.resetAt = time.resetAt
    s.refusals = 0
    if (sample && sample.commands > 0 && sample.costSec >= 0) {
      const per = sample.costSec / sample.commands
      s.cost = s.cost === null ? per : s.cost * 0.7 + per * 0.3
    }
  }

  /** Bitrix24 refused the method (OPERATION_TIME_LIMIT): hold it until the reset we were told of, or the next one. */
  refused(memberId: string, method: string): number {
    const s = this.#get(memberId, method)
    const t = this.now()
    s.refusals += 1
    let until = s.resetAt !== null && s.resetAt > t ? s.resetAt : t + this.opts.basketMs
    // Refused again after that reset: each later reset is a basket further on.
    if (s.suspendedUntil >= until) until = s.suspendedUntil + this.opts.basketMs
    s.suspendedUntil = until
    s.operating = Math.max(s.operating, this.opts.limitSec)
    return until
  }

  /** ms to wait before sending `commands` commands of `method` (0: go now). */
  waitMs(memberId: string, method: string, commands: number): number {
    const s = this.#get(memberId, method)
    const t = this.now()
    if (s.suspendedUntil > t) return s.suspendedUntil - t
    // Past the reset we were told of, the oldest basket has dropped out: the figure is stale.
    if (s.resetAt !== null && s.resetAt <= t) {
      s.operating = 0
      s.resetAt = null
      return 0
    }
    if (s.cost === null) return 0
    if (s.operating + s.cost * commands <= this.opts.limitSec) return 0
    return s.resetAt !== null ? s.resetAt - t : this.opts.basketMs
  }

  /** How many commands fit now (at least 1 when nothing is known). */
  fits(memberId: string, method: string, max: number): number {
    const s = this.#get(memberId, method)
    if (s.cost === null || s.cost <= 0) return max
    return Math.max(0, Math.min(max, Math.floor((this.opts.limitSec - s.operating) / s.cost)))
  }

  suspendedUntil(memberId: string, method: string): number {
    return this.#get(memberId, method).suspendedUntil
  }

  forget(memberId: string): void {
    for (const key of this.#state.keys()) if (key.startsWith(`${memberId}\u0000`)) this.#state.delete(key)
  }
}
