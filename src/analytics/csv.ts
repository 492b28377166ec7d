import { Readable } from 'node:stream'

/**
 * CSV as RFC 4180 writes it: fields separated by commas, records by CRLF, and a field quoted
 * (its quotes doubled) when it holds a comma, a quote, CR or LF. The file starts with a UTF-8 BOM:
 * without it Excel reads UTF-8 as the system's code page and garbles every non-Latin name.
 * A field starting with = + - @ (or a tab/CR) is prefixed with a quote mark so a spreadsheet
 * shows it as text instead of running it as a formula: campaign and form names are typed by
 * advertisers, not by us.
 * @see https://www.rfc-editor.org/rfc/rfc4180
 * @see https://owasp.org/www-community/attacks/CSV_Injection
 */

export const BOM = '\uFEFF'

export type CsvValue = string | number | null

export function csvField(v: CsvValue): string {
  if (v === null) return ''
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : ''
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export function csvLine(values: CsvValue[]): string {
  return `${values.map(csvField).join(',')}\r\n`
}

/**
 * A byte stream of the header and one line per record, pulled from `records` only as fast as the
 * reader takes it (a few dozen lines per read): the records are never all in memory. When the
 * reader goes away the iterator is closed (its `finally` runs, e.g. a cursor's connection closes).
 */
export function csvStream<T>(header: string[], records: Iterator<T>, toLine: (r: T) => CsvValue[]): Readable {
  let started = false
  return new Readable({
    highWaterMark: 64 * 1024,
    read() {
      try {
        let chunk = ''
        if (!started) {
          started = true
          chunk = BOM + csvLine(header)
        }
        while (chunk.length < 16 * 1024) {
          const next = records.next()
          if (next.done) {
            if (chunk) this.push(chunk)
            this.push(null)
            return
          }
          chunk += csvLine(toLine(next.value))
        }
        this.push(chunk)
      } catch (err) {
        this.destroy(err as Error)
      }
    },
    destroy(err, cb) {
      try {
        records.return?.()
      } finally {
        cb(err)
      }
    },
  })
}
