import { answerValue, answerValues } from '../tiktok/adapters.js'
import type { NormalizedLead } from '../tiktok/schemas.js'
import { normalizePhone } from './phone.js'
import {
  fieldLabel,
  isMetaSource,
  isMultifieldTarget,
  type MappingConfig,
  type MappingRule,
  type MetaSource,
  type PortalFields,
} from './schemas.js'

/**
 * A normalised TikTok lead → `crm.lead.add` fields.
 *
 * Three layers, each over the one before: built-in defaults (names, phones, e-mails, address,
 * title, source, UTM, comments), then the portal's rules, then its constants. Nothing is
 * invented: an answer that fits no list item is left out with a warning, and a phone that cannot
 * be read is kept as typed.
 *
 * @see https://apidocs.bitrix24.com/api-reference/crm/leads/crm-lead-add.html
 */

export interface MapLeadOptions {
  mapping: MappingConfig
  defaultCountry: string | null
  /** The app's ORIGINATOR_ID, e.g. 'tiktok_leads': with ORIGIN_ID it finds a lead already created. */
  originatorId: string
  /** `crm.lead.fields` of the portal; without it list answers map only through enumMap. */
  portalFields?: PortalFields
  /** How a full name is split into NAME / LAST_NAME (the portal's choice); default 'auto'. */
  nameOrder?: NameOrder
  /** The portal's language (portals.lang), for 'auto' when no default country is set. */
  lang?: string | null
}

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

export interface MappedLead {
  fields: Record<string, unknown>
  warnings: string[]
}

export interface MultifieldValue {
  VALUE: string
  VALUE_TYPE: string
}

/**
 * 'ADVERTISING' ("Advertising") is one of the SOURCE statuses every new portal is created with;
 * a portal that deleted or renamed it can set SOURCE_ID through a constant.
 * @see https://apidocs.bitrix24.com/api-reference/crm/status/index.html
 */
export const DEFAULT_SOURCE_ID = 'ADVERTISING'
export const UTM_SOURCE = 'tiktok'
/** 'paid_social' falls into GA4's "Paid Social" channel (medium matching ^paid) together with source tiktok. */
export const UTM_MEDIUM = 'paid_social'
const VALUE_TYPE = 'WORK'
const TITLE_MAX = 255

/** Standard answers → standard lead fields, first non-empty key wins. */
const DEFAULT_TEXT_FIELDS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['ADDRESS', ['street_address', 'address']],
  ['ADDRESS_CITY', ['city']],
  ['ADDRESS_PROVINCE', ['state', 'province']],
  ['ADDRESS_POSTAL_CODE', ['zip_code', 'postal_code']],
  ['ADDRESS_COUNTRY', ['country']],
  ['COMPANY_TITLE', ['company_name']],
  ['POST', ['job_title']],
]
const PHONE_KEYS = ['phone_number', 'phone', 'work_phone_number']
const EMAIL_KEYS = ['email', 'work_email']

export function mapLead(lead: NormalizedLead, opts: MapLeadOptions): MappedLead {
  const fields: Record<string, unknown> = {}
  const warnings: string[] = []

  // 1. Defaults.
  fields.TITLE = truncate(lead.formName ? `TikTok lead: ${lead.formName}` : `TikTok lead ${lead.leadId}`, TITLE_MAX)
  Object.assign(fields, nameFields(lead, effectiveNameOrder(opts.nameOrder, opts.defaultCountry, opts.lang)))

  const phones = answerValues(lead, ...PHONE_KEYS).map((raw) => phoneEntry(raw, opts.defaultCountry, warnings))
  if (phones.length) fields.PHONE = dedupeMultifield(phones)
  const emails = answerValues(lead, ...EMAIL_KEYS).map((v) => ({ VALUE: v, VALUE_TYPE }))
  if (emails.length) fields.EMAIL = dedupeMultifield(emails)

  for (const [target, keys] of DEFAULT_TEXT_FIELDS) {
    const v = answerValue(lead, ...keys)
    if (v !== null) fields[target] = v
  }

  fields.SOURCE_ID = DEFAULT_SOURCE_ID
  fields.SOURCE_DESCRIPTION = sourceDescription(lead)
  fields.UTM_SOURCE = UTM_SOURCE
  fields.UTM_MEDIUM = UTM_MEDIUM
  setIfPresent(fields, 'UTM_CAMPAIGN', lead.campaignName ?? lead.campaignId)
  setIfPresent(fields, 'UTM_CONTENT', lead.adName ?? lead.adId)
  setIfPresent(fields, 'UTM_TERM', lead.adgroupName ?? lead.adgroupId)
  fields.COMMENTS = comments(lead)

  // 2. Rules: the first rule with a value sets a single-value field; multiple fields collect.
  const setByRule = new Set<string>()
  for (const [i, rule] of opts.mapping.rules.entries()) applyRule(rule, i, lead, opts, fields, setByRule, warnings)

  // 3. Constants, over everything else.
  for (const [code, value] of Object.entries(opts.mapping.constants)) {
    const field = opts.portalFields?.[code]
    if (opts.portalFields && !field) {
      warnings.push(`Constant ${code} left out: the field does not exist on this portal`)
      continue
    }
    fields[code] = field?.isMultiple ? [value] : value
  }

  // Set last so no rule or constant can break finding this lead again.
  fields.ORIGINATOR_ID = opts.originatorId
  fields.ORIGIN_ID = lead.leadId
  return { fields, warnings }
}

// ---------------------------------------------------------------------------------------------
// Defaults

/**
 * NAME / LAST_NAME. Separate first/last answers are used as they are. A full name is split by
 * the portal's name order: given name first → the last word is LAST_NAME ("Ivan Petrov");
 * family name first → the first word is LAST_NAME ("Nguyễn Văn An" → LAST_NAME "Nguyễn", NAME
 * "Văn An"); full_in_name → all of it in NAME. A name written without spaces (e.g. 王小明) is
 * not split. The full name is always in COMMENTS as typed.
 */
function nameFields(lead: NormalizedLead, order: Exclude<NameOrder, 'auto'>): Record<string, string> {
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

function sourceDescription(lead: NormalizedLead): string {
  const parts = ['TikTok Lead Generation']
  const form = lead.formName ?? lead.formId
  const ad = lead.adName ?? lead.adId
  if (form) parts.push(`form ${form}`)
  if (ad) parts.push(`ad ${ad}`)
  return parts.join(' · ')
}

/**
 * Every answer as "Question: answer" lines, then the TikTok ids. COMMENTS is rendered as
 * BB-code/HTML by Bitrix24, so answer text is escaped (& < >) to stay text.
 */
function comments(lead: NormalizedLead): string {
  const lines: string[] = []
  for (const a of lead.answers) {
    if (a.value.trim() === '') continue
    lines.push(`${escapeHtml(questionLabel(a.key))}: ${escapeHtml(a.value)}`)
  }
  const ids: string[] = [`TikTok lead ID: ${escapeHtml(lead.leadId)}`]
  const named = (label: string, name: string | null, id: string | null) => {
    if (name && id) ids.push(`${label}: ${escapeHtml(name)} (ID ${escapeHtml(id)})`)
    else if (name || id) ids.push(`${label}: ${escapeHtml((name ?? id) as string)}`)
  }
  if (lead.createdAt) ids.push(`Created: ${lead.createdAt}`)
  named('Form', lead.formName, lead.formId)
  if (lead.pageId && lead.pageId !== lead.formId) named('Page', lead.pageName, lead.pageId)
  named('Advertiser', lead.advertiserName, lead.advertiserId)
  named('Campaign', lead.campaignName, lead.campaignId)
  named('Ad group', lead.adgroupName, lead.adgroupId)
  named('Ad', lead.adName, lead.adId)
  return lines.length ? `${lines.join('\n')}\n\n${ids.join('\n')}` : ids.join('\n')
}

/** "phone_number" → "Phone number"; a custom question's own text is left as written. */
function questionLabel(key: string): string {
  const oneLine = key.replace(/\s+/g, ' ').trim()
  if (!/^[a-z0-9_]+$/.test(oneLine)) return oneLine
  const words = oneLine.replace(/_+/g, ' ').trim()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

// ---------------------------------------------------------------------------------------------
// Rules

const META_VALUES: Record<MetaSource, (lead: NormalizedLead) => string | null> = {
  'meta.form_name': (l) => l.formName,
  'meta.form_id': (l) => l.formId,
  'meta.campaign_name': (l) => l.campaignName,
  'meta.campaign_id': (l) => l.campaignId,
  'meta.adgroup_name': (l) => l.adgroupName,
  'meta.adgroup_id': (l) => l.adgroupId,
  'meta.ad_name': (l) => l.adName,
  'meta.ad_id': (l) => l.adId,
  'meta.page_name': (l) => l.pageName,
  'meta.advertiser_name': (l) => l.advertiserName,
  'meta.lead_id': (l) => l.leadId,
  'meta.created_at': (l) => l.createdAt,
}

function sourceValue(lead: NormalizedLead, source: string): string | null {
  if (isMetaSource(source)) return META_VALUES[source](lead)
  return answerValue(lead, source)
}

function applyRule(
  rule: MappingRule,
  index: number,
  lead: NormalizedLead,
  opts: MapLeadOptions,
  fields: Record<string, unknown>,
  setByRule: Set<string>,
  warnings: string[],
): void {
  const raw = sourceValue(lead, rule.source)
  if (raw === null || raw === '') return // an optional question left blank: nothing to map
  const where = `Rule ${index + 1} (${JSON.stringify(rule.source)} → ${rule.target})`
  const field = opts.portalFields?.[rule.target]
  if (opts.portalFields && !field) {
    warnings.push(`${where}: left out, the field does not exist on this portal`)
    return
  }
  if (field?.isReadOnly) {
    warnings.push(`${where}: left out, ${fieldLabel(rule.target, field)} is read-only`)
    return
  }

  if (isMultifieldTarget(rule.target)) {
    // Added to whatever the defaults found (a second phone question adds a second number).
    const entry = rule.target === 'PHONE' ? phoneEntry(raw, opts.defaultCountry, warnings) : { VALUE: raw, VALUE_TYPE }
    const existing = Array.isArray(fields[rule.target]) ? (fields[rule.target] as MultifieldValue[]) : []
    fields[rule.target] = dedupeMultifield([...existing, entry])
    setByRule.add(rule.target)
    return
  }

  const multiple = field?.isMultiple === true
  let values: string[] = [raw]
  const isList = rule.enumMap !== undefined || field?.type === 'enumeration' || (field?.items?.length ?? 0) > 0
  if (isList) {
    const resolved = resolveListAnswer(raw, rule, field, multiple)
    for (const miss of resolved.unmatched) {
      warnings.push(
        `${where}: answer ${JSON.stringify(miss)} matches no item of ${fieldLabel(rule.target, field)}; left out`,
      )
    }
    if (resolved.ids.length === 0) return
    values = resolved.ids
  }

  if (multiple) {
    const existing =
      setByRule.has(rule.target) && Array.isArray(fields[rule.target]) ? (fields[rule.target] as unknown[]) : []
    fields[rule.target] = [...new Set([...existing, ...values])]
  } else {
    const value = values[0] as string
    if (setByRule.has(rule.target)) {
      if (fields[rule.target] !== value) {
        warnings.push(`${where}: ${rule.target} already set by an earlier rule; ${JSON.stringify(value)} not used`)
      }
      return
    }
    fields[rule.target] = value
  }
  setByRule.add(rule.target)
}

/**
 * Answer text → list item IDs: through enumMap first (exact, then ignoring case), then by the
 * item's VALUE ignoring case. A multi-select answer ("A, B") for a multiple field is matched
 * whole first, then part by part.
 */
function resolveListAnswer(
  answer: string,
  rule: MappingRule,
  field: PortalFields[string] | undefined,
  multiple: boolean,
): { ids: string[]; unmatched: string[] } {
  const one = (text: string): string | null => {
    const t = text.trim()
    if (rule.enumMap) {
      const exact = rule.enumMap[t]
      if (exact !== undefined) return exact
      const lower = t.toLowerCase()
      for (const [k, v] of Object.entries(rule.enumMap)) if (k.trim().toLowerCase() === lower) return v
    }
    const item = field?.items?.find((i) => i.VALUE.trim().toLowerCase() === t.toLowerCase())
    return item ? String(item.ID) : null
  }
  const whole = one(answer)
  if (whole !== null) return { ids: [whole], unmatched: [] }
  if (!multiple || !answer.includes(',')) return { ids: [], unmatched: [answer] }
  const ids: string[] = []
  const unmatched: string[] = []
  for (const part of answer
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const id = one(part)
    if (id === null) unmatched.push(part)
    else if (!ids.includes(id)) ids.push(id)
  }
  return { ids, unmatched }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function phoneEntry(raw: string, defaultCountry: string | null, warnings: string[]): MultifieldValue {
  const phone = normalizePhone(raw, defaultCountry)
  if (!phone.normalized) {
    warnings.push(
      defaultCountry || raw.trim().startsWith('+')
        ? `Phone ${JSON.stringify(raw)} is not a recognisable number; kept as given`
        : `Phone ${JSON.stringify(raw)} kept as given: no default country is set to read it by`,
    )
  }
  return { VALUE: phone.value, VALUE_TYPE }
}

function dedupeMultifield(values: MultifieldValue[]): MultifieldValue[] {
  const seen = new Set<string>()
  return values.filter((v) => {
    const key = v.VALUE.toLowerCase()
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function setIfPresent(fields: Record<string, unknown>, key: string, value: string | null): void {
  if (value) fields[key] = value
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
