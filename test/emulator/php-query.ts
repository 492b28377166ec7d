/**
 * PHP-style nested query strings, as Bitrix24 (a PHP application) reads and writes them.
 *
 * Reading follows `parse_str`: `fields[PHONE][0][VALUE]=1` becomes nested maps, `a[]=x` appends
 * at the next integer key, dots and spaces in the top-level name become `_`. Writing follows
 * `http_build_query`: brackets are percent-encoded, spaces become `+`, `true`/`false` become
 * `1`/`0`, `null` is dropped. Bitrix24 sends events and placement POSTs built this way.
 *
 * A PHP array is an ordered map, so `{ "0": …, "1": … }` and `[…, …]` are the same value to
 * Bitrix24. `phpValues` and `toPhpJson` express that equivalence on our side.
 *
 * @see settings/how-to-call-rest-api/data-encoding.md (b24restdocs)
 */

export type PhpMap = Record<string, unknown>

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

export function isPlainObject(value: unknown): value is PhpMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function decodeComponent(text: string): string {
  const spaced = text.replace(/\+/g, ' ')
  try {
    return decodeURIComponent(spaced)
  } catch {
    // PHP's urldecode decodes what it can, byte by byte, and leaves a malformed escape as it is.
    const bytes: number[] = []
    for (let i = 0; i < spaced.length; i++) {
      const hex = spaced.slice(i + 1, i + 3)
      if (spaced[i] === '%' && /^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16))
        i += 2
      } else {
        bytes.push(...Buffer.from(spaced[i] ?? '', 'utf8'))
      }
    }
    return Buffer.from(bytes).toString('utf8')
  }
}

function nextIndex(target: PhpMap): string {
  let max = -1
  for (const key of Object.keys(target)) {
    if (/^(0|-?[1-9]\d*)$/.test(key)) max = Math.max(max, Number(key))
  }
  return String(max + 1)
}

/** Splits `a[b][]` into `['a', 'b', '']`; a name with no closing bracket stays literal. */
function splitKey(rawKey: string): string[] {
  const open = rawKey.indexOf('[')
  if (open <= 0) return [rawKey.replace(/[. ]/g, '_')]
  const base = rawKey.slice(0, open).replace(/[. ]/g, '_')
  const segments = [base]
  let rest = rawKey.slice(open)
  while (rest.startsWith('[')) {
    const close = rest.indexOf(']')
    if (close < 0) break
    segments.push(rest.slice(1, close))
    rest = rest.slice(close + 1)
  }
  return segments
}

function assignPath(root: PhpMap, segments: string[], value: string): void {
  let current: PhpMap = root
  for (let i = 0; i < segments.length; i++) {
    let key = segments[i] ?? ''
    if (i > 0 && key === '') key = nextIndex(current)
    if (FORBIDDEN_KEYS.has(key)) return
    if (i === segments.length - 1) {
      current[key] = value
      return
    }
    const existing = current[key]
    if (!isPlainObject(existing)) {
      const created: PhpMap = {}
      current[key] = created
      current = created
    } else {
      current = existing
    }
  }
}

/** `parse_str` semantics. Returns plain objects only (never arrays). */
export function parsePhpQuery(query: string): PhpMap {
  const root: PhpMap = {}
  if (!query) return root
  for (const pair of query.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const rawKey = decodeComponent(eq < 0 ? pair : pair.slice(0, eq))
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1))
    if (rawKey === '') continue
    assignPath(root, splitKey(rawKey), value)
  }
  return root
}

function encodeComponent(text: string): string {
  return encodeURIComponent(text)
    .replace(/%20/g, '+')
    .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

function scalarText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined
  if (value === true) return '1'
  if (value === false) return '0'
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  return undefined
}

function build(prefix: string, value: unknown, out: string[]): void {
  if (Array.isArray(value) || isPlainObject(value)) {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value)
    for (const [key, inner] of entries) build(`${prefix}[${key}]`, inner, out)
    return
  }
  const text = scalarText(value)
  if (text !== undefined) out.push(`${encodeComponent(prefix)}=${encodeComponent(text)}`)
}

/** `http_build_query` semantics (PHP_QUERY_RFC1738). */
export function stringifyPhpQuery(data: PhpMap): string {
  const out: string[] = []
  for (const [key, value] of Object.entries(data)) build(key, value, out)
  return out.join('&')
}

/** The values of a PHP array (a JSON list or a map), or undefined for a scalar. */
export function phpValues(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value
  if (isPlainObject(value)) return Object.values(value)
  return undefined
}

/** The entries of a PHP array with their keys, or undefined for a scalar. */
export function phpEntries(value: unknown): Array<[string, unknown]> | undefined {
  if (Array.isArray(value)) return value.map((v, i) => [String(i), v])
  if (isPlainObject(value)) return Object.entries(value)
  return undefined
}

/**
 * What PHP's `json_encode` prints for an array with these keys: a list when the keys are
 * exactly 0..n-1 in order (including the empty array, printed `[]`), otherwise an object.
 */
export function toPhpJson(entries: Array<[string, unknown]>): unknown[] | PhpMap {
  const sequential = entries.every(([key], i) => key === String(i))
  if (sequential) return entries.map(([, v]) => v)
  const out: PhpMap = {}
  for (const [key, v] of entries) out[key] = v
  return out
}

/** PHP-ish truthiness of a request flag: `1`, `"1"`, `true`, `"true"`, `"Y"`. */
export function phpFlag(value: unknown): boolean {
  if (value === true || value === 1) return true
  if (typeof value === 'string') return ['1', 'true', 'y', 'yes'].includes(value.trim().toLowerCase())
  return false
}
