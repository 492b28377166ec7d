/**
 * UTC calendar days as `YYYY-MM-DD` text: the analytics' periods and TikTok's report days. Text
 * compares in day order, so the spend cache stores and ranges over it directly.
 */

const DAY_MS = 86_400_000

export const isDay = (s: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(s) && toDay(Date.parse(`${s}T00:00:00Z`)) === s

export function dayStartMs(day: string): number {
  return Date.parse(`${day}T00:00:00Z`)
}

export function toDay(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : ''
}

export function addDays(day: string, n: number): string {
  return toDay(dayStartMs(day) + n * DAY_MS)
}

/** Days between two days: `to` − `from`. */
export function daysBetween(from: string, to: string): number {
  return Math.round((dayStartMs(to) - dayStartMs(from)) / DAY_MS)
}

/** Sorted days cut into runs of consecutive days, each at most `max` long. */
export function dayRuns(days: string[], max: number): string[][] {
  const runs: string[][] = []
  let run: string[] = []
  for (const day of days) {
    const prev = run[run.length - 1]
    if (run.length > 0 && (run.length >= max || addDays(prev!, 1) !== day)) {
      runs.push(run)
      run = []
    }
    run.push(day)
  }
  if (run.length > 0) runs.push(run)
  return runs
}
