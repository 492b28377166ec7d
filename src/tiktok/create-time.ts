/**
 * TikTok's lead timestamps as ISO text: the adapters read `create_time` with it, and so does the
 * lead export's CSV reader.
 */

/** Unix values above this are taken as milliseconds (1e11 s is the year 5138). */
const MS_THRESHOLD = 1e11
const NAIVE_DATETIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)$/
const ZONED_DATETIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i

/**
 * `create_time` as ISO 8601 UTC. TikTok sends unix seconds on the webhook and a
 * "YYYY-MM-DD HH:MM:SS" UTC string on pull endpoints; a datetime without a zone is read as UTC.
 * Unreadable values give null: a lead is never rejected over its timestamp.
 */
export function toIsoTime(value: string | number | null | undefined): string | null {
  if (value === null || value === undefined) return null
  let ms: number
  if (typeof value === 'number' || /^\d+(?:\.\d+)?$/.test(value.trim())) {
    const n = Number(value)
    if (!Number.isFinite(n) || n <= 0) return null
    ms = n >= MS_THRESHOLD ? n : n * 1000
  } else {
    const s = value.trim()
    const naive = NAIVE_DATETIME.exec(s)
    if (naive) ms = Date.parse(`${naive[1]}T${naive[2]}Z`)
    else if (ZONED_DATETIME.test(s)) ms = Date.parse(s.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
    else return null
  }
  if (!Number.isFinite(ms)) return null
  const d = new Date(Math.round(ms))
  return Number.isNaN(d.getTime()) ? null : d.toISOString()
}
