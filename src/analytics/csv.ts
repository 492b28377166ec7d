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
 * The file as text chunks of about `chunkChars` characters: the BOM and header first, then the
 * records' lines, taken from `records` only as each chunk is asked for (the records are never all
 * in memory when they come from a cursor). The analytics worker sends each chunk as one message.
 */
export function* csvChunks<T>(
  header: string[],
  records: Iterator<T>,
  toLine: (r: T) => CsvValue[],
  chunkChars = 64 * 1024,
): Generator<string> {
  let chunk = BOM + csvLine(header)
  for (;;) {
    const next = records.next()
    if (next.done) break
    chunk += csvLine(toLine(next.value))
    if (chunk.length >= chunkChars) {
      yield chunk
      chunk = ''
    }
  }
  if (chunk) yield chunk
}
