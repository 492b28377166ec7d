import { type Boot, fmt } from '../boot.js'

/**
 * The analytics screen's period and numbers, apart from the component so tests can read them.
 * The API's period is `[from, to)` in UTC days (src/analytics/view-schema.ts): people think of a
 * period by its last day, so the screen asks for "from" and "through" and sends through + 1 day.
 */

/** The presets of the period picker, in days ending today. */
export const PRESETS = [7, 30, 90] as const
/** The longest period the API takes (src/analytics/view-schema.ts MAX_PERIOD_DAYS). */
export const MAX_DAYS = 366

const DAY_MS = 86_400_000
const DAY = /^\d{4}-\d{2}-\d{2}$/

/** A UTC day YYYY-MM-DD moved by `days`. */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10)
}

/** Today as a UTC day. */
export function utcToday(now = Date.now()): string {
  return new Date(now).toISOString().slice(0, 10)
}

/** A real calendar day (2026-02-30 is not). */
export function isDay(s: string): boolean {
  return DAY.test(s) && new Date(Date.parse(`${s}T00:00:00Z`)).toISOString().slice(0, 10) === s
}

/** The last `n` days, today included, as the API's `[from, to)`. */
export function presetPeriod(n: number, today: string): { from: string; to: string } {
  return { from: addDays(today, -(n - 1)), to: addDays(today, 1) }
}

/**
 * Typed dates (the last day included) as the API's `[from, to)`; null when they are not two days,
 * the end is before the start, or they span more than the API allows.
 */
export function customPeriod(from: string, through: string): { from: string; to: string } | null {
  if (!isDay(from) || !isDay(through)) return null
  const days = (Date.parse(`${through}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1
  if (days < 1 || days > MAX_DAYS) return null
  return { from, to: addDays(through, 1) }
}

/** Numbers, money and durations in the page's language (vn is `vi` for Intl). */
export function analyticsFormat(boot: Pick<Boot, 'lang' | 'strings'>) {
  const t = boot.strings
  const locale = boot.lang === 'vn' ? 'vi' : boot.lang
  const whole = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 })
  // The API gives no currency (each ad account spends in its own): two decimals, no symbol.
  const money = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 })
  const dash = '–'
  return {
    count: (n: number | null) => (n === null ? dash : whole.format(n)),
    money: (n: number | null) => (n === null ? dash : money.format(n)),
    /** A time to first contact as a person says it: 45 s, 12 min, 3 h 5 min, 2 d 4 h. */
    span(ms: number | null): string {
      if (ms === null) return dash
      const s = Math.round(ms / 1000)
      if (s < 60) return fmt(t.unit_s, { n: s })
      const min = Math.round(ms / 60_000)
      if (min < 60) return fmt(t.unit_min, { n: min })
      if (min < 24 * 60) return fmt(t.unit_h_min, { h: Math.floor(min / 60), min: min % 60 })
      const h = Math.round(ms / 3_600_000)
      return fmt(t.unit_d_h, { d: Math.floor(h / 24), h: h % 24 })
    },
    /** A day YYYY-MM-DD in the page's language, read as the UTC day it is. */
    day(d: string): string {
      if (!isDay(d)) return d
      return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' }).format(
        new Date(`${d}T00:00:00Z`),
      )
    },
  }
}
