/**
 * Calendar days as `YYYY-MM-DD` text: the analytics' periods and TikTok's report days. Text
 * compares in day order, so the spend cache stores and ranges over it directly.
 *
 * A day is a day of a time zone: TikTok reports `stat_time_day` in the ad account's zone
 * (advertiser/info `display_timezone`), so the analytics count the leads of an ad account over
 * that zone's days too, or spend and leads of one "day" would disagree. UTC is the zone of leads
 * that no connected ad account claims. Zones are IANA names, resolved with the runtime's Intl
 * (full ICU in Node), daylight saving time included.
 */

const DAY_MS = 86_400_000
export const UTC = 'UTC'

export const isDay = (s: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(s) && toDay(Date.parse(`${s}T00:00:00Z`)) === s

/** The UTC midnight of `day`: the day's start in UTC, and the day's number line for day arithmetic. */
export function dayStartMs(day: string): number {
  return Date.parse(`${day}T00:00:00Z`)
}

/** The UTC day of an instant. */
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

const formats = new Map<string, Intl.DateTimeFormat>()

function formatOf(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
    formats.set(zone, f)
  }
  return f
}

/** Whether the runtime knows this IANA zone name ("America/Los_Angeles", "Etc/GMT+8", "UTC"). */
export function isTimeZone(zone: string): boolean {
  if (zone === '' || zone.length > 64) return false
  try {
    formatOf(zone)
    return true
  } catch {
    return false
  }
}

/** The zone's wall clock at an instant, as if it were UTC (so offset = wall − instant). */
function wallMs(ms: number, zone: string): number {
  const p: Record<string, number> = {}
  for (const part of formatOf(zone).formatToParts(ms)) if (part.type !== 'literal') p[part.type] = Number(part.value)
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!)
}

/** The day of an instant in a zone. */
export function zonedDay(ms: number, zone: string): string {
  if (zone === UTC || !Number.isFinite(ms)) return toDay(ms)
  return toDay(wallMs(ms, zone))
}

/**
 * The first instant of `day` in `zone`. Its midnight, at the offset in force then: the offset a
 * day before or a day after (a change of offset lies between them); where midnight itself is
 * skipped (a zone that springs forward at 00:00) the day begins at the change, which is what the
 * later offset gives. Of the two, the earlier one that falls on `day`.
 */
export function zonedDayStartMs(day: string, zone: string): number {
  const local = dayStartMs(day)
  if (zone === UTC) return local
  const offset = (at: number) => wallMs(at, zone) - Math.floor(at / 1000) * 1000
  const candidates = [local - offset(local - DAY_MS), local - offset(local + DAY_MS)].sort((a, b) => a - b)
  return candidates.find((c) => zonedDay(c, zone) === day) ?? candidates[0]!
}
