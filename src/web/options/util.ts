import type { Boot } from '../boot.js'

/** The page's language as a BCP 47 tag (the catalogue calls Vietnamese `vn`). */
export function localeOf(boot: Pick<Boot, 'lang'>): string {
  return boot.lang === 'vn' ? 'vi' : boot.lang
}

/** A moment in the reader's language and time zone; `never` when absent. */
export function fmtTime(boot: Pick<Boot, 'lang' | 'strings'>, iso: string | null | undefined): string {
  if (!iso) return boot.strings.never
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return String(iso)
  try {
    return new Intl.DateTimeFormat(localeOf(boot), { dateStyle: 'short', timeStyle: 'medium' }).format(d)
  } catch {
    return d.toISOString()
  }
}

/** A region code as its name in the reader's language, e.g. `Vietnam (VN)`; the code alone if unknown. */
export function regionName(boot: Pick<Boot, 'lang'>, code: string): string {
  try {
    const name = new Intl.DisplayNames([localeOf(boot)], { type: 'region' }).of(code)
    return name && name !== code ? `${name} (${code})` : code
  } catch {
    return code
  }
}

/** Text to the clipboard; inside an iframe without clipboard-write permission the old way still works on a click. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    const area = document.createElement('textarea')
    area.className = 'sr-only'
    area.readOnly = true
    area.value = text
    document.body.append(area)
    area.select()
    let ok = false
    try {
      ok = document.execCommand('copy')
    } catch {
      ok = false
    }
    area.remove()
    return ok
  }
}

/** A refusal's words for the reader (ApiError carries the server's catalogue message). */
export function errText(err: unknown): string {
  return err instanceof Error && err.message ? err.message : String(err)
}

/**
 * The to-do reminders as typed ("0, 15"): whole minutes before the deadline, 0 to 1440, each
 * once, at most 5, sorted; null when the text is not that (the server checks the same rule).
 */
export function parsePings(text: string): number[] | null {
  const parts = text
    .split(/[,;\s]+/)
    .map((p) => p.trim())
    .filter(Boolean)
  if (parts.length > 5 || !parts.every((p) => /^\d{1,4}$/.test(p))) return null
  const values = parts.map(Number)
  if (values.some((v) => v > 1440) || new Set(values).size !== values.length) return null
  return values.sort((a, b) => a - b)
}
