import { answerValue, answerValues } from '../tiktok/answers.js'
import type { NormalizedLead } from '../tiktok/schemas.js'
import { comments, sourceDescription } from './lead-text.js'
import { dedupeMultifield, phoneEntry, VALUE_TYPE } from './multifield.js'
import { effectiveNameOrder, type NameOrder, nameFields } from './name-order.js'
import { applyRule } from './rules.js'
import type { MappingConfig, PortalFields } from './schemas.js'

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

export interface MappedLead {
  fields: Record<string, unknown>
  warnings: string[]
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
/** The answers that become the lead's PHONE and EMAIL (also what TikTok matches a CRM event by, src/quality/user-data.ts). */
export const PHONE_KEYS = ['phone_number', 'phone', 'work_phone_number']
export const EMAIL_KEYS = ['email', 'work_email']

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

function setIfPresent(fields: Record<string, unknown>, key: string, value: string | null): void {
  if (value) fields[key] = value
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
