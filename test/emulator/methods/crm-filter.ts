/**
 * The `filter` of crm.*.list (and of the other list methods that take one): prefixed keys, IN
 * lists, LIKE patterns, case-insensitive comparison.
 * @see api-reference/crm/leads/crm-lead-list.md
 */
import { isPlainObject, phpValues, type PhpMap } from '../php-query.js'
import { MULTIFIELD_TYPES } from './crm-entity-spec.js'

const FILTER_KEY = /^(>=|<=|!@|!%=|!=%|!%|!=|=%|%=|>|<|@|%|=|!)?(.+)$/

export function comparable(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') return value.trim().toLowerCase()
  if (typeof value === 'number' || typeof value === 'boolean') return String(value).toLowerCase()
  return JSON.stringify(value)
}

function fieldValues(record: Record<string, unknown>, field: string): unknown[] {
  const value = record[field]
  if ((MULTIFIELD_TYPES as readonly string[]).includes(field)) {
    return Array.isArray(value) ? value.map((row) => (isPlainObject(row) ? row['VALUE'] : undefined)) : []
  }
  return Array.isArray(value) ? value : [value]
}

function likeToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .toLowerCase()
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/%/g, '.*')
    .replace(/_/g, '.')
  return new RegExp(`^${escaped}$`)
}

export function compareNumbers(a: string, b: string): number {
  const na = Number(a)
  const nb = Number(b)
  if (a !== '' && b !== '' && !Number.isNaN(na) && !Number.isNaN(nb)) return na - nb
  return a < b ? -1 : a > b ? 1 : 0
}

function matchOne(op: string, actual: unknown[], expected: unknown): boolean {
  const wanted = (phpValues(expected) ?? [expected]).map(comparable)
  const have = actual.length > 0 ? actual.map(comparable) : ['']
  const anyEq = have.some((h) => wanted.includes(h))
  switch (op) {
    case '':
    case '=':
    case '@':
      return anyEq
    case '!':
    case '!=':
    case '!@':
      return !anyEq
    case '%':
      return have.some((h) => wanted.some((w) => h.includes(w)))
    case '!%':
      return !have.some((h) => wanted.some((w) => h.includes(w)))
    case '=%':
    case '%=':
      return have.some((h) => wanted.some((w) => likeToRegExp(w).test(h)))
    case '!=%':
    case '!%=':
      return !have.some((h) => wanted.some((w) => likeToRegExp(w).test(h)))
    case '>':
      return have.some((h) => wanted.some((w) => compareNumbers(h, w) > 0))
    case '>=':
      return have.some((h) => wanted.some((w) => compareNumbers(h, w) >= 0))
    case '<':
      return have.some((h) => wanted.some((w) => compareNumbers(h, w) < 0))
    case '<=':
      return have.some((h) => wanted.some((w) => compareNumbers(h, w) <= 0))
    default:
      return true
  }
}

/**
 * Prefixes: >= > <= < @ (IN) !@ (NOT IN) % (LIKE) = != ! … An array value without a prefix
 * means IN. String comparison is case-insensitive, like the portal's database collation.
 */
export function matchesFilter(record: Record<string, unknown>, filter: PhpMap): boolean {
  for (const [rawKey, expected] of Object.entries(filter)) {
    const m = FILTER_KEY.exec(rawKey)
    if (!m) continue
    const op = m[1] ?? ''
    const field = m[2] ?? ''
    if (!matchOne(op, fieldValues(record, field), expected)) return false
  }
  return true
}
