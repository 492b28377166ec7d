/**
 * The per-portal leaky bucket behind QUERY_LIMIT_EXCEEDED.
 *
 * Each request adds 1; the level drains continuously at `drainRate` per second; a request that
 * would lift the level above `burst` is refused (and adds nothing, so a client that backs off
 * recovers). Plans: 2/s and 50 by default, 5/s and 250 on enterprise.
 *
 * @see limits.md (b24restdocs) "Request Rate Limits"
 */
export class LeakyBucket {
  private level = 0
  private last: number

  constructor(
    readonly drainRate: number,
    readonly burst: number,
    private readonly now: () => number,
  ) {
    this.last = now()
  }

  private drain(): void {
    const at = this.now()
    const elapsedSec = Math.max(0, at - this.last) / 1000
    this.level = Math.max(0, this.level - elapsedSec * this.drainRate)
    this.last = at
  }

  /** Takes one slot; false when the request must get QUERY_LIMIT_EXCEEDED. */
  tryTake(): boolean {
    this.drain()
    // A tiny epsilon keeps float drift from refusing a request that exactly fits.
    if (this.level + 1 > this.burst + 1e-9) return false
    this.level += 1
    return true
  }

  current(): number {
    this.drain()
    return this.level
  }
}

export const PLAN_LIMITS = {
  free: { drainRate: 2, burst: 50 },
  pro: { drainRate: 2, burst: 50 },
  enterprise: { drainRate: 5, burst: 250 },
} as const
