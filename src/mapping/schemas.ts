import { isSupportedCountry } from 'libphonenumber-js'
import { z } from 'zod'
import { isMetaSource, META_SOURCES } from './meta-sources.js'

/**
 * A portal's lead mapping: which TikTok answer (or lead metadata) goes to which Bitrix24 lead
 * field, plus constant values. Checked twice: shape here with zod when it is saved, and against
 * the portal's live `crm.lead.fields` with validateMappingAgainstFields, since fields and list
 * items can be deleted on the portal at any time.
 *
 * @see https://apidocs.bitrix24.com/api-reference/crm/leads/crm-lead-fields.html
 */

export { isMetaSource, META_SOURCES, type MetaSource } from './meta-sources.js'

/**
 * ORIGINATOR_ID / ORIGIN_ID identify the lead's TikTok origin; the app uses them to find a lead it
 * already created, so a mapping may not overwrite them.
 */
export const RESERVED_TARGETS = ['ORIGINATOR_ID', 'ORIGIN_ID', 'ID'] as const

/** Multi-fields: Bitrix24 wants a list of {VALUE, VALUE_TYPE} and silently ignores a plain string. */
export const MULTIFIELD_TARGETS = ['PHONE', 'EMAIL', 'WEB', 'IM'] as const
export type MultifieldTarget = (typeof MULTIFIELD_TARGETS)[number]

export function isMultifieldTarget(target: string): target is MultifieldTarget {
  return (MULTIFIELD_TARGETS as readonly string[]).includes(target)
}

export const B24FieldName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]*$/, 'must be a Bitrix24 lead field name such as NAME or UF_CRM_1712345678')
  .max(64, 'must be at most 64 characters')
  .refine((v) => !(RESERVED_TARGETS as readonly string[]).includes(v), {
    message: 'is reserved: the app sets ORIGINATOR_ID/ORIGIN_ID to find leads it already created',
  })

/** An answer key (`phone_number`, or a custom question's text) or one of META_SOURCES. */
export const MappingSource = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(500, 'must be at most 500 characters')
  .refine((v) => !v.startsWith('meta.') || isMetaSource(v), {
    message: `must be an answer key or one of ${META_SOURCES.join(', ')}`,
  })

export const MappingRule = z.object({
  source: MappingSource,
  target: B24FieldName,
  /** Answer text → list item ID, for list (enumeration / status) targets. */
  enumMap: z.record(z.string().max(500), z.string().trim().min(1).max(64)).optional(),
})
export type MappingRule = z.infer<typeof MappingRule>

export const MappingConfig = z.object({
  rules: z.array(MappingRule).max(200).default([]),
  /** Applied last, over answers and defaults: ASSIGNED_BY_ID, STATUS_ID, SOURCE_ID, OPENED … */
  constants: z
    .record(z.string(), z.union([z.string().max(2000), z.number()]))
    .default({})
    .superRefine((constants, ctx) => {
      // Keys are checked here rather than by z.record, whose key errors read "Invalid key in record".
      for (const key of Object.keys(constants)) {
        const res = B24FieldName.safeParse(key)
        if (!res.success) {
          ctx.addIssue({ code: 'custom', path: [key], message: res.error.issues[0]?.message ?? 'is not a field name' })
        }
      }
      if (Object.keys(constants).some(isMultifieldTarget)) {
        ctx.addIssue({
          code: 'custom',
          message: 'PHONE, EMAIL, WEB and IM cannot be constants: they come from the answers',
        })
      }
    }),
})
export type MappingConfig = z.infer<typeof MappingConfig>

/**
 * ISO 3166-1 alpha-2 country for phone numbers written without a country code, or null: then
 * such numbers are kept as given.
 */
export const DefaultCountry = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z]{2}$/, 'must be a two-letter ISO 3166 country code such as VN')
  .refine((c) => isSupportedCountry(c), { message: 'is not a country libphonenumber knows' })
  .nullable()
  .default(null)

export const DeliverySettings = z.object({
  defaultCountry: DefaultCountry,
  mapping: MappingConfig.default({ rules: [], constants: {} }),
})
export type DeliverySettings = z.infer<typeof DeliverySettings>

/** One entry of `crm.lead.fields`, as far as the mapping needs it. */
export const PortalField = z.looseObject({
  type: z.string(),
  isReadOnly: z.boolean().optional(),
  isMultiple: z.boolean().optional(),
  title: z.string().optional(),
  listLabel: z.string().optional(),
  items: z.array(z.object({ ID: z.union([z.string(), z.number()]), VALUE: z.string() })).optional(),
})
export type PortalField = z.infer<typeof PortalField>
export const PortalFields = z.record(z.string(), PortalField)
export type PortalFields = Record<
  string,
  {
    type: string
    isReadOnly?: boolean
    isMultiple?: boolean
    title?: string
    listLabel?: string
    items?: Array<{ ID: string | number; VALUE: string }>
  }
>

/** The label a person sees for a field: its list label for UF_CRM_*, else its title, else its code. */
export function fieldLabel(code: string, field: PortalFields[string] | undefined): string {
  const label = field?.listLabel || field?.title
  return label && label !== code ? `${code} "${label}"` : code
}

/**
 * Problems that would make the mapping misbehave on this portal, one readable line each; empty
 * when the mapping fits. Checks targets exist and are writable, that enumMap values and constants
 * for list fields are item IDs of that list.
 */
export function validateMappingAgainstFields(config: MappingConfig, fields: PortalFields): string[] {
  const errors: string[] = []

  config.rules.forEach((rule, i) => {
    const where = `Rule ${i + 1} (${JSON.stringify(rule.source)} → ${rule.target})`
    const field = fields[rule.target]
    if (!field) {
      errors.push(`${where}: the field ${rule.target} does not exist on this portal`)
      return
    }
    if (field.isReadOnly) {
      errors.push(`${where}: ${fieldLabel(rule.target, field)} is read-only`)
      return
    }
    if (rule.enumMap && field.items) {
      for (const [answer, id] of Object.entries(rule.enumMap)) {
        if (!field.items.some((item) => String(item.ID) === id)) {
          errors.push(
            `${where}: answer ${JSON.stringify(answer)} is mapped to ${JSON.stringify(id)}, which is not an item of ${fieldLabel(rule.target, field)} (items: ${describeItems(field.items)})`,
          )
        }
      }
    }
  })

  for (const [code, value] of Object.entries(config.constants)) {
    const field = fields[code]
    if (!field) {
      errors.push(`Constant ${code}: the field does not exist on this portal`)
      continue
    }
    if (field.isReadOnly) {
      errors.push(`Constant ${code}: ${fieldLabel(code, field)} is read-only`)
      continue
    }
    if (field.items && !field.items.some((item) => String(item.ID) === String(value))) {
      errors.push(
        `Constant ${code}: ${JSON.stringify(String(value))} is not an item of ${fieldLabel(code, field)} (items: ${describeItems(field.items)})`,
      )
    }
  }
  return errors
}

function describeItems(items: ReadonlyArray<{ ID: string | number; VALUE: string }>): string {
  if (items.length === 0) return 'none'
  const shown = items.slice(0, 10).map((i) => `${i.ID} ${JSON.stringify(i.VALUE)}`)
  return shown.join(', ') + (items.length > 10 ? `, … ${items.length - 10} more` : '')
}
