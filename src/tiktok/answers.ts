import type { LeadAnswer, NormalizedLead } from './schemas.js'

/**
 * A normalised lead's answers: how the adapters write them (`answerText`, `flatAnswers`) and how
 * mapping reads them (`answerValue`, `answerValues`). Its own module so mapping reads answers
 * without importing the body adapters, and the adapters know nothing of mapping.
 */

/**
 * The first non-empty answer among `keys`, tried in the order given. Keys match exactly first,
 * then loosely ("Phone Number" finds `phone_number`), since standard keys and question texts are
 * not documented precisely.
 */
export function answerValue(lead: Pick<NormalizedLead, 'answers'>, ...keys: string[]): string | null {
  for (const key of keys) {
    const exact = lead.answers.find((a) => a.key === key && a.value.trim() !== '')
    if (exact) return exact.value.trim()
    const loose = normalizeAnswerKey(key)
    const found = lead.answers.find((a) => normalizeAnswerKey(a.key) === loose && a.value.trim() !== '')
    if (found) return found.value.trim()
  }
  return null
}

/** Every non-empty answer among `keys` (e.g. several phone questions), without repeats. */
export function answerValues(lead: Pick<NormalizedLead, 'answers'>, ...keys: string[]): string[] {
  const wanted = new Set(keys.map(normalizeAnswerKey))
  const out: string[] = []
  for (const a of lead.answers) {
    const v = a.value.trim()
    if (v !== '' && wanted.has(normalizeAnswerKey(a.key)) && !out.includes(v)) out.push(v)
  }
  return out
}

const normalizedKeys = new Map<string, string>()

/**
 * Lower case, every run of non-letters/digits as one underscore: "Phone Number " → "phone_number".
 * Memoised: a portal's forms have few distinct questions, and mapping asks for them per field per lead.
 */
export function normalizeAnswerKey(key: string): string {
  let normalized = normalizedKeys.get(key)
  if (normalized === undefined) {
    normalized = key
      .normalize('NFKC')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}]+/gu, '_')
      .replace(/^_+|_+$/g, '')
    if (normalizedKeys.size >= 10_000) normalizedKeys.clear()
    normalizedKeys.set(key, normalized)
  }
  return normalized
}

/**
 * An answer as text. Lists (multi-select; encoding undocumented) are joined with ', ';
 * objects, which no source shows, are kept as JSON rather than dropped.
 */
export function answerText(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') return value.trim()
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (Array.isArray(value)) {
    return value
      .map(answerText)
      .filter((v) => v !== '')
      .join(', ')
  }
  return JSON.stringify(value)
}

/** A flat `{question: answer}` object (pull and forwarder `lead_data`) as answers; blank keys dropped. */
export function flatAnswers(data: Record<string, unknown>): LeadAnswer[] {
  const answers: LeadAnswer[] = []
  for (const [key, value] of Object.entries(data)) {
    const k = key.trim()
    if (k !== '') answers.push({ key: k, value: answerText(value) })
  }
  return answers
}
