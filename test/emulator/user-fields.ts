/**
 * Lead user fields as the portal keeps them, shared by `portal.addUserField` (the test helper)
 * and crm.lead.userfield.add (the REST method), so that a field made either way looks the same
 * to crm.lead.fields, crm.lead.add and crm.lead.userfield.get/list.
 *
 * Labels are kept per language, as crm.lead.userfield.get prints them; crm.lead.fields shows
 * the portal language's entry.
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-add.md
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-get.md (record shape, language keys)
 */
import type { LangMap, UserField, UserFieldLabelKind, UserFieldType } from './types/crm.js'

/**
 * The documented USER_TYPE_ID values (the "custom field types" an app registers with
 * userfieldtype.add are not emulated).
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-add.md (USER_TYPE_ID)
 */
export const USER_FIELD_TYPES: readonly UserFieldType[] = [
  'string',
  'integer',
  'double',
  'boolean',
  'datetime',
  'date',
  'money',
  'url',
  'address',
  'enumeration',
  'file',
  'employee',
  'crm_status',
  'iblock_section',
  'iblock_element',
  'crm',
]

/**
 * The language keys of a label map, as crm.lead.userfield.get answers them (its example has
 * `in` and `kz` on top of the 19 of the language table in crm/data-types.md#lang-ids).
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-get.md
 */
export const USER_FIELD_LANGS = [
  'ar',
  'br',
  'de',
  'en',
  'fr',
  'hi',
  'id',
  'in',
  'it',
  'ja',
  'kz',
  'la',
  'ms',
  'pl',
  'ru',
  'sc',
  'tc',
  'th',
  'tr',
  'ua',
  'vn',
] as const

export const LABEL_KINDS: readonly UserFieldLabelKind[] = [
  'EDIT_FORM_LABEL',
  'LIST_COLUMN_LABEL',
  'LIST_FILTER_LABEL',
  'ERROR_MESSAGE',
  'HELP_MESSAGE',
]

/** "The length limit is 50 characters including the prefix." */
export const MAX_FIELD_NAME = 50

/**
 * The full name: lower case goes upper; `UF_CRM_X` stays, `UF_X` becomes `UF_CRM_X`, anything
 * else gets `UF_CRM_` in front.
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-add.md (FIELD_NAME)
 */
export function fullFieldName(code: string): string {
  const upper = code.toUpperCase()
  if (upper.startsWith('UF_CRM_')) return upper
  if (upper.startsWith('UF_')) return `UF_CRM_${upper.slice(3)}`
  return `UF_CRM_${upper}`
}

/**
 * A label parameter: a string is set for every language; a map sets its languages and LABEL
 * fills the others; nothing at all means LABEL everywhere (or '' without a LABEL).
 */
export function labelMap(value: unknown, fallback: string): LangMap {
  const out: LangMap = {}
  const given =
    typeof value === 'string'
      ? null
      : value !== null && typeof value === 'object'
        ? (value as Record<string, unknown>)
        : undefined
  for (const lang of USER_FIELD_LANGS) {
    if (typeof value === 'string') out[lang] = value
    else if (given && typeof given[lang] === 'string') out[lang] = given[lang]
    else if (given && typeof given[lang] === 'number') out[lang] = String(given[lang])
    else out[lang] = fallback
  }
  return out
}

/** The label in a language ('' when none). */
export function labelIn(uf: UserField, kind: UserFieldLabelKind, lang: string): string {
  return uf[kind][lang] ?? ''
}

type SettingsDefaults = Record<string, unknown>

/** Section and element links of an information block take the same settings. */
const IBLOCK_SETTINGS = {
  keys: ['IBLOCK_TYPE_ID', 'IBLOCK_ID', 'DEFAULT_VALUE', 'DISPLAY', 'LIST_HEIGHT', 'ACTIVE_FILTER'],
  defaults: {
    IBLOCK_TYPE_ID: '',
    IBLOCK_ID: 0,
    DEFAULT_VALUE: '',
    DISPLAY: 'LIST',
    LIST_HEIGHT: 1,
    ACTIVE_FILTER: 'N',
  },
}

/**
 * SETTINGS per type: the documented keys with their defaults ("This method only supports those
 * described below": other keys are dropped). Extra keys the portal prints with them (SIZE,
 * REGEXP… for strings; CAPTION_NO_VALUE, SHOW_NO_VALUE for lists) come from the docs' answers.
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-add.md (Parameter SETTINGS)
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-list.md (printed settings)
 */
const SETTINGS: Partial<Record<UserFieldType, { keys: string[]; defaults: SettingsDefaults }>> = {
  string: {
    keys: ['DEFAULT_VALUE', 'ROWS'],
    defaults: { SIZE: 20, ROWS: 1, REGEXP: '', MIN_LENGTH: 0, MAX_LENGTH: 0, DEFAULT_VALUE: '' },
  },
  integer: { keys: ['DEFAULT_VALUE'], defaults: {} },
  double: { keys: ['DEFAULT_VALUE', 'PRECISION'], defaults: { PRECISION: 2 } },
  boolean: { keys: ['DEFAULT_VALUE', 'DISPLAY'], defaults: { DEFAULT_VALUE: 0, DISPLAY: 'CHECKBOX' } },
  date: { keys: ['DEFAULT_VALUE'], defaults: { DEFAULT_VALUE: { VALUE: '', TYPE: 'NONE' } } },
  datetime: { keys: ['DEFAULT_VALUE'], defaults: { DEFAULT_VALUE: { VALUE: '', TYPE: 'NONE' } } },
  enumeration: {
    keys: ['DISPLAY', 'LIST_HEIGHT'],
    defaults: { DISPLAY: 'LIST', LIST_HEIGHT: 1, CAPTION_NO_VALUE: '', SHOW_NO_VALUE: 'Y' },
  },
  iblock_section: IBLOCK_SETTINGS,
  iblock_element: IBLOCK_SETTINGS,
  crm_status: { keys: ['ENTITY_TYPE'], defaults: { ENTITY_TYPE: '' } },
  crm: { keys: ['LEAD', 'CONTACT', 'COMPANY', 'DEAL'], defaults: { LEAD: 'N', CONTACT: 'N', COMPANY: 'N', DEAL: 'N' } },
}

export function userFieldSettings(type: UserFieldType, given: unknown): Record<string, unknown> {
  const spec = SETTINGS[type]
  if (!spec) return {}
  const input =
    given !== null && typeof given === 'object' && !Array.isArray(given) ? (given as Record<string, unknown>) : {}
  const out: Record<string, unknown> = structuredClone(spec.defaults)
  for (const key of spec.keys) if (input[key] !== undefined) out[key] = input[key]
  // "If none of the following options are provided, the link to leads will be enabled."
  if (type === 'crm' && !spec.keys.some((k) => input[k] !== undefined)) out['LEAD'] = 'Y'
  return out
}

/** A field before the portal gives it (and its list items) ids. */
export type UserFieldDraft = Omit<UserField, 'ID' | 'LIST'> & {
  LIST: Array<{ VALUE: string; SORT: number; DEF: 'Y' | 'N'; XML_ID: string | undefined }>
}

/**
 * Enumeration items: "List items with an empty or missing VALUE will be ignored"; SORT defaults
 * to 0; "for a non-multiple field, the first provided list item with DEF = Y will be
 * considered default".
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-add.md (Parameter LIST)
 */
export function draftItems(
  list: Array<{ VALUE?: unknown; SORT?: unknown; DEF?: unknown; XML_ID?: unknown }>,
  multiple: boolean,
): UserFieldDraft['LIST'] {
  const out: UserFieldDraft['LIST'] = []
  let haveDefault = false
  for (const item of list) {
    const value = typeof item.VALUE === 'number' ? String(item.VALUE) : item.VALUE
    if (typeof value !== 'string' || value === '') continue
    const sort = Number.parseInt(String(item.SORT ?? ''), 10)
    let def: 'Y' | 'N' = item.DEF === 'Y' || item.DEF === true ? 'Y' : 'N'
    if (def === 'Y' && !multiple) {
      if (haveDefault) def = 'N'
      haveDefault = true
    }
    const xml =
      typeof item.XML_ID === 'string' && item.XML_ID !== ''
        ? item.XML_ID
        : typeof item.XML_ID === 'number'
          ? String(item.XML_ID)
          : undefined
    out.push({ VALUE: value, SORT: Number.isNaN(sort) ? 0 : sort, DEF: def, XML_ID: xml })
  }
  return out
}
