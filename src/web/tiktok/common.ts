import type { TikTokView } from '../../settings/schemas.js'
import { ApiError } from '../api.js'
import type { Boot } from '../boot.js'

/** What the TikTok screen shows (GET /api/settings/tiktok and every TikTok action's answer). */
export type { TikTokView }
export type TikTokConnection = TikTokView['connections'][number]
export type TikTokForm = TikTokConnection['forms'][number]
export type TikTokGrant = NonNullable<TikTokView['grant']>

/** A result line: what an action did or why it failed, in plain words. */
export interface Said {
  kind: 'ok' | 'info' | 'error'
  text: string
}

/** The words of a refusal: the server's own message (its catalogue's), else the error's. */
export function errText(err: unknown): string {
  if (err instanceof ApiError) return err.message || err.code
  return err instanceof Error ? err.message : String(err)
}

export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409
}

/** A whole number of days from min to max, else null. */
export function parseDays(value: unknown, min: number, max: number): number | null {
  const s = String(value ?? '').trim()
  if (!/^\d{1,3}$/.test(s)) return null
  const n = Number(s)
  return n >= min && n <= max ? n : null
}

/** A time in the page's language, or the catalogue's "never". */
export function timeFormatter(boot: Boot): (iso: string | null | undefined) => string {
  const locale = boot.lang === 'vn' ? 'vi' : boot.lang
  let f: Intl.DateTimeFormat | null = null
  try {
    f = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' })
  } catch {
    f = null
  }
  return (iso) => {
    if (!iso) return boot.strings.never
    const d = new Date(iso)
    if (Number.isNaN(d.getTime())) return String(iso)
    return f ? f.format(d) : d.toISOString()
  }
}

export function numberFormatter(boot: Boot): (n: number) => string {
  const f = new Intl.NumberFormat(boot.lang === 'vn' ? 'vi' : boot.lang)
  return (n) => f.format(n)
}

/** An id safe in an element id (TikTok ids are digits, but the page never trusts that). */
export function safeId(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_')
}

/** The kit's alert colour for a result line. */
export function alertColor(kind: Said['kind']) {
  return kind === 'error' ? 'air-primary-alert' : kind === 'ok' ? 'air-primary-success' : 'air-secondary'
}
