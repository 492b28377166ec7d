import { answerValue } from '../tiktok/answers.js'
import type { NormalizedLead } from '../tiktok/schemas.js'

/**
 * 'auto': family name first for the portal's country (else its language) where that is the
 * custom (Vietnam, China, Taiwan, Hong Kong, Macau, Korea, Japan, Hungary), else given name first;
 * 'full_in_name': the whole name in NAME, nothing guessed.
 */
export const NAME_ORDERS = ['auto', 'given_first', 'family_first', 'full_in_name'] as const
export type NameOrder = (typeof NAME_ORDERS)[number]
const FAMILY_FIRST_COUNTRIES = new Set(['VN', 'CN', 'TW', 'HK', 'MO', 'KR', 'KP', 'JP', 'HU'])
const FAMILY_FIRST_LANGS = new Set(['vn', 'vi', 'cn', 'zh', 'tc', 'sc', 'kr', 'ko', 'jp', 'ja', 'hu'])

/** The order a full name is read in, for a portal's choice, country and language. */
export function effectiveNameOrder(
  order: NameOrder | undefined,
  country: string | null,
  lang?: string | null,
): Exclude<NameOrder, 'auto'> {
  if (order && order !== 'auto') return order
  if (country) return FAMILY_FIRST_COUNTRIES.has(country.toUpperCase()) ? 'family_first' : 'given_first'
  const l = (lang ?? '').toLowerCase().split(/[-_]/)[0] ?? ''
  return FAMILY_FIRST_LANGS.has(l) ? 'family_first' : 'given_first'
}

/**
 * NAME / LAST_NAME. Separate first/last answers are used as they are. A full name is split by
 * the portal's name order: given name first → the last word is LAST_NAME ("Ivan Petrov");
 * family name first → the first word is LAST_NAME ("Nguyễn Văn An" → LAST_NAME "Nguyễn", NAME
 * "Văn An"); full_in_name → all of it in NAME. A name written without spaces (e.g. 王小明) is
 * not split. The full name is always in COMMENTS as typed.
 */
export function nameFields(lead: NormalizedLead, order: Exclude<NameOrder, 'auto'>): Record<string, string> {
  const first = answerValue(lead, 'first_name')
  const last = answerValue(lead, 'last_name')
  if (first !== null || last !== null) {
    const out: Record<string, string> = {}
    if (first !== null) out.NAME = first
    if (last !== null) out.LAST_NAME = last
    return out
  }
  const full = answerValue(lead, 'name', 'full_name')
  if (full === null) return {}
  const words = full.trim().split(/\s+/)
  if (words.length === 1 || order === 'full_in_name') return { NAME: words.join(' ') }
  if (order === 'family_first') return { NAME: words.slice(1).join(' '), LAST_NAME: words[0] as string }
  return { NAME: words.slice(0, -1).join(' '), LAST_NAME: words[words.length - 1] as string }
}
