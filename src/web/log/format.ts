import type { LeadRowView } from '../../settings/schemas.js'
import { type Boot, fmt, type Strings } from '../boot.js'

/** The statuses the log can be filtered by, in the order the tab has always shown. */
export const STATUSES = ['received', 'queued', 'sending', 'delivered', 'duplicate', 'failed'] as const
/** Leads still on their way: while one is shown, the log refreshes on its own. */
export const PENDING: ReadonlyArray<LeadRowView['status']> = ['received', 'queued', 'sending']

export type BadgeColor = 'air-primary-success' | 'air-primary-alert' | 'air-secondary' | 'air-primary-warning'

export function statusColor(status: LeadRowView['status']): BadgeColor {
  return status === 'delivered'
    ? 'air-primary-success'
    : status === 'failed'
      ? 'air-primary-alert'
      : status === 'duplicate'
        ? 'air-secondary'
        : 'air-primary-warning'
}

/** Dates, durations and numbers in the page's language (vn is `vi` for Intl). */
export function formatters(boot: Pick<Boot, 'lang' | 'strings'>) {
  const t: Strings = boot.strings
  const locale = boot.lang === 'vn' ? 'vi' : boot.lang
  const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: 'short', timeStyle: 'medium' })
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 })
  return {
    time(iso: string | null): string {
      if (!iso) return t.never
      const d = new Date(iso)
      return Number.isNaN(d.getTime()) ? iso : dateTime.format(d)
    },
    duration(ms: number | null): string {
      if (ms === null) return '–'
      if (ms < 1000) return fmt(t.unit_ms, { n: Math.round(ms) })
      if (ms < 60_000) return fmt(t.unit_s, { n: number.format(Math.round(ms / 100) / 10) })
      return fmt(t.unit_min, { n: number.format(Math.round(ms / 6000) / 10) })
    },
  }
}

/**
 * Bitrix24's error as the server recorded it (`CODE: description`): the description in words,
 * the code apart (null when the text carries none, e.g. "HTTP 404 without a Bitrix24 error").
 */
export function splitError(text: string): { code: string | null; words: string } {
  const m = /^([A-Z][A-Z0-9_]{2,}):\s*([\s\S]+)$/.exec(text.trim())
  return m ? { code: m[1]!, words: m[2]! } : { code: null, words: text }
}

/** The lead card's address: the server's, or the portal's template with the id. */
export function leadUrl(row: Pick<LeadRowView, 'b24LeadId' | 'b24LeadUrl'>, template: string): string | null {
  if (row.b24LeadUrl) return row.b24LeadUrl
  if (!row.b24LeadId || !template) return null
  return template.replace('#ID#', String(row.b24LeadId))
}
