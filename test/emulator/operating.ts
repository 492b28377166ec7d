/**
 * The operating limit ("Resource Intensity Limits"): each method's accumulated execution time,
 * per portal, per app, per method, in ten one-minute baskets.
 *
 * - A call costs `costSec[method]` seconds of server time (uniform jitter between min and max;
 *   default 0.1–0.5 s for crm.lead.add, 0.005–0.02 s for any other method). With `realTime` the
 *   request really takes that long (a batch: the sum of its commands); otherwise the cost is only
 *   counted.
 * - A call lands in the basket of its minute (`basketSec`); a basket's countdown starts at its
 *   first call and it leaves the sum `10 × basketSec` later (`operating_reset_at` is when the
 *   oldest one leaves).
 * - The sum is checked before each call: above `limitSec` the call is refused with HTTP 429
 *   OPERATION_TIME_LIMIT and not executed; the call that lifts the sum over the limit still
 *   runs. Other methods are not affected.
 * - `batch` itself is not counted; each nested command counts against its own method.
 * - `maxRequestSec` (60): a request whose commands cost more is interrupted by timeout (see rest.ts).
 *
 * @see settings/performance/limits.md "Resource Intensity Limits", "Request Execution Time Limit"
 */
import { RestError } from './rest-error.js'
import type { OperatingOptions } from './types/options.js'

const DEFAULT_COST: Record<string, [number, number]> = { 'crm.lead.add': [0.1, 0.5] }
const OTHER_COST: [number, number] = [0.005, 0.02]
/** Ten baskets make the window. */
const BASKETS = 10

interface Basket {
  /** Index of the minute (now / basketSec). */
  slot: number
  /** ms of the first call in it: the countdown starts here. */
  firstAt: number
  sum: number
}

export interface OperatingStatus {
  /** The method's current sum, seconds. */
  operating: number
  /** Unix seconds when the oldest basket leaves the sum. */
  operating_reset_at: number
}

interface Settings {
  limitSec: number
  basketSec: number
  costSec: Record<string, [number, number]>
  realTime: boolean
  maxRequestSec: number
}

/**
 * No description text is given in the docs; this is the wording portals print.
 * @see settings/performance/limits.md: status 429, OPERATION_TIME_LIMIT
 */
export function operationTimeLimit(): RestError {
  return new RestError(429, 'OPERATION_TIME_LIMIT', 'Method is blocked due to operation time limit.')
}

export class OperatingMeter {
  private settings: Settings
  private readonly baskets = new Map<string, Basket[]>()

  constructor(
    private readonly now: () => number,
    opts: OperatingOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.settings = { limitSec: 480, basketSec: 60, costSec: {}, realTime: false, maxRequestSec: 60 }
    this.set(opts)
  }

  /** Merges new settings in (the counted sums stay). */
  set(o: OperatingOptions): void {
    const s = this.settings
    this.settings = {
      limitSec: typeof o.limitSec === 'number' ? o.limitSec : s.limitSec,
      basketSec: typeof o.basketSec === 'number' && o.basketSec > 0 ? o.basketSec : s.basketSec,
      costSec: o.costSec
        ? Object.fromEntries(Object.entries(o.costSec).map(([k, v]) => [k.toLowerCase(), v]))
        : s.costSec,
      realTime: typeof o.realTime === 'boolean' ? o.realTime : s.realTime,
      maxRequestSec: typeof o.maxRequestSec === 'number' ? o.maxRequestSec : s.maxRequestSec,
    }
  }

  get realTime(): boolean {
    return this.settings.realTime
  }

  get maxRequestSec(): number {
    return this.settings.maxRequestSec
  }

  /** This call's server time, seconds. */
  cost(method: string): number {
    const [min, max] = this.settings.costSec[method] ?? DEFAULT_COST[method] ?? OTHER_COST
    return min + (max - min) * this.random()
  }

  private windowMs(): number {
    return this.settings.basketSec * BASKETS * 1000
  }

  private live(memberId: string, clientId: string, method: string): Basket[] {
    const key = `${memberId}\u0000${clientId}\u0000${method}`
    const at = this.now()
    const list = (this.baskets.get(key) ?? []).filter((b) => b.firstAt + this.windowMs() > at)
    this.baskets.set(key, list)
    return list
  }

  /** Whether the next call of this method must be refused (sum above the limit before it). */
  blocked(memberId: string, clientId: string, method: string): boolean {
    return this.status(memberId, clientId, method).operating > this.settings.limitSec
  }

  charge(memberId: string, clientId: string, method: string, sec: number): void {
    const list = this.live(memberId, clientId, method)
    const at = this.now()
    const slot = Math.floor(at / (this.settings.basketSec * 1000))
    const last = list[list.length - 1]
    if (last && last.slot === slot) last.sum += sec
    else list.push({ slot, firstAt: at, sum: sec })
  }

  status(memberId: string, clientId: string, method: string): OperatingStatus {
    const list = this.live(memberId, clientId, method)
    const oldest = list[0]
    const resetMs = (oldest ? oldest.firstAt : this.now()) + this.windowMs()
    return {
      operating: list.reduce((sum, b) => sum + b.sum, 0),
      operating_reset_at: Math.floor(resetMs / 1000),
    }
  }
}
