/**
 * A per-webhook-key budget of requests and body bytes per minute, so one leaked webhook URL cannot
 * fill the disk or the delivery queue. Two token buckets per key, each holding one minute's worth
 * and refilling continuously: a burst up to the minute's budget passes at once, then the steady
 * rate. Real TikTok traffic (one lead per push, retries spread over 72 hours) stays far below it;
 * a request beyond it gets 429 and TikTok retries it later, so a lead is delayed, not lost.
 *
 * Only keys that belong to a portal are ever charged (the route looks the key up first), so
 * guessing keys costs no portal anything and the map holds at most one entry per real key.
 */

export interface WebhookBudgetLimits {
  requestsPerMin: number
  bytesPerMin: number
}

export type BudgetVerdict = { ok: true } | { ok: false; exceeded: 'requests' | 'bytes'; retryAfterS: number }

interface Buckets {
  requests: number
  bytes: number
  atMs: number
}

const MINUTE_MS = 60_000
/** Entries beyond this are pruned of full buckets (keys idle for a minute or more). */
const PRUNE_AT = 10_000

export function createWebhookBudget(limits: WebhookBudgetLimits) {
  const buckets = new Map<string, Buckets>()

  function refill(b: Buckets, nowMs: number): void {
    const elapsed = Math.max(0, nowMs - b.atMs)
    if (elapsed === 0) return
    b.requests = Math.min(limits.requestsPerMin, b.requests + (elapsed * limits.requestsPerMin) / MINUTE_MS)
    b.bytes = Math.min(limits.bytesPerMin, b.bytes + (elapsed * limits.bytesPerMin) / MINUTE_MS)
    b.atMs = nowMs
  }

  function prune(nowMs: number): void {
    for (const [key, b] of buckets) {
      refill(b, nowMs)
      if (b.requests >= limits.requestsPerMin && b.bytes >= limits.bytesPerMin) buckets.delete(key)
    }
  }

  return {
    /** Spend one request of `bytes` from `key`'s budget; a refused request spends nothing. */
    take(key: string, bytes: number, nowMs: number): BudgetVerdict {
      let b = buckets.get(key)
      if (!b) {
        if (buckets.size >= PRUNE_AT) prune(nowMs)
        b = { requests: limits.requestsPerMin, bytes: limits.bytesPerMin, atMs: nowMs }
        buckets.set(key, b)
      } else refill(b, nowMs)
      if (b.requests < 1)
        return { ok: false, exceeded: 'requests', retryAfterS: waitS(1 - b.requests, limits.requestsPerMin) }
      if (b.bytes < bytes)
        return { ok: false, exceeded: 'bytes', retryAfterS: waitS(bytes - b.bytes, limits.bytesPerMin) }
      b.requests -= 1
      b.bytes -= bytes
      return { ok: true }
    },
  }
}

/** Seconds until `missing` units have refilled at `perMin` per minute (at least 1). */
function waitS(missing: number, perMin: number): number {
  return Math.max(1, Math.ceil((missing * 60) / perMin))
}
