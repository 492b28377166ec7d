/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries
 * from many leads spread out but never come sooner than half the nominal delay.
 *
 * | attempt | nominal delay | actual range   |
 * |---------|---------------|----------------|
 * | 1       | 1 s           | 0.5 – 1 s      |
 * | 2       | 2 s           | 1 – 2 s        |
 * | 3       | 4 s           | 2 – 4 s        |
 * | 5       | 16 s          | 8 – 16 s       |
 * | 8       | 128 s         | 64 – 128 s     |
 * | ≥ 10    | 5 min (cap)   | 2.5 – 5 min    |
 *
 * There is no last attempt: a lead with a transient problem keeps retrying at the cap
 * until it is delivered (nothing acknowledged to TikTok is ever dropped).
 */
export interface BackoffOptions {
  baseMs: number
  maxMs: number
  /** the jitter's source, [0, 1); Math.random unless a test pins it */
  random?: () => number
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 5 * 60_000 }

export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = opts.random ?? Math.random,
): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(exp / 2 + (exp / 2) * random())
}
