import { answerValue } from '../tiktok/answers.js'
import type { NormalizedLead } from '../tiktok/schemas.js'
import { dedupeMultifield, type MultifieldValue, phoneEntry, VALUE_TYPE } from './multifield.js'
import {
  fieldLabel,
  isMetaSource,
  isMultifieldTarget,
  type MappingRule,
  type MetaSource,
  type PortalFields,
} from './schemas.js'

/**
 * The portal's mapping rules, the second layer of mapLead: each rule takes an answer (or a
 * TikTok metadata value) into a lead field, matching list answers to the field's items.
 */

/** What a rule needs of the mapping options. */
export interface RuleContext {
  defaultCountry: string | null
  portalFields?: PortalFields
}

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

export function applyRule(
  rule: MappingRule,
  index: number,
  lead: NormalizedLead,
  opts: RuleContext,
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
