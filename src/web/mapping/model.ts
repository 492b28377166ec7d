import type { MappingConfig } from '../../mapping/schemas.js'
import type { FieldsView, TikTokView } from '../../settings/schemas.js'
import { fmt, type Strings } from '../boot.js'

/**
 * The mapping editor's model: the
 * rules as the screen holds them, the mapping they make, and the checks made before saving.
 */

export type Field = FieldsView['fields'][number]

import { META_SOURCES } from '../../mapping/meta-sources.js'

export { META_SOURCES }
export const RESERVED_TARGETS = ['ID', 'ORIGINATOR_ID', 'ORIGIN_ID']
/** The constants this screen has a control for; any other saved constant is kept as it is. */
export const CONSTANT_KEYS = ['ASSIGNED_BY_ID', 'SOURCE_ID', 'STATUS_ID', 'OPENED'] as const
export type ConstantKey = (typeof CONSTANT_KEYS)[number]
/** Select values standing for "nothing chosen" (the kit's selects take no empty string). */
export const NONE = '__default'
export const OTHER = '__other'

export interface EnumRow {
  uid: number
  answer: string
  id: string
}
export interface RuleRow {
  uid: number
  source: string
  target: string
  /** the source is typed (a question no lead has answered yet) */
  other: boolean
  enums: EnumRow[]
}
export interface Editor {
  rules: RuleRow[]
  /** ASSIGNED_BY_ID, SOURCE_ID, STATUS_ID, OPENED: NONE when not set */
  constants: Record<ConstantKey, string>
  /** saved constants without a control here */
  extra: Record<string, string | number>
}

let uidSeq = 0
export const nextUid = () => ++uidSeq

/** A source picked from the list (an answer seen, a form's question, a lead detail), not typed as "other". */
export function isKnownSource(
  source: string,
  questions: readonly string[],
  fromForms: readonly string[] = [],
): boolean {
  return (
    source === '' ||
    (META_SOURCES as readonly string[]).includes(source) ||
    questions.includes(source) ||
    fromForms.includes(source)
  )
}

/** The questions of every form of every connected TikTok account, each once. */
export function formQuestions(view: TikTokView | null): string[] {
  const out = new Set<string>()
  for (const c of view?.connections ?? []) for (const f of c.forms) for (const q of f.fields) out.add(q)
  return [...out]
}

export function editorOf(
  mapping: MappingConfig,
  questions: readonly string[],
  fromForms: readonly string[] = [],
): Editor {
  const constants = Object.fromEntries(CONSTANT_KEYS.map((k) => [k, NONE])) as Record<ConstantKey, string>
  const extra: Record<string, string | number> = {}
  for (const [k, v] of Object.entries(mapping.constants ?? {})) {
    if ((CONSTANT_KEYS as readonly string[]).includes(k)) {
      if (v !== '' && v !== null && v !== undefined) constants[k as ConstantKey] = String(v)
    } else extra[k] = v
  }
  return {
    rules: (mapping.rules ?? []).map((r) => ({
      uid: nextUid(),
      source: r.source,
      target: r.target,
      other: !isKnownSource(r.source, questions, fromForms),
      enums: Object.entries(r.enumMap ?? {}).map(([answer, id]) => ({ uid: nextUid(), answer, id: String(id) })),
    })),
    constants,
    extra,
  }
}

const hasItems = (f: Field | undefined): f is Field => !!f && f.items.length > 0

/** The mapping the screen shows; incomplete rules are left out (see problemsOf). */
export function mappingOf(e: Editor, fields: readonly Field[] | null, simple: boolean): MappingConfig {
  const out: MappingConfig = { rules: [], constants: {} }
  for (const r of e.rules) {
    const source = r.source.trim()
    if (!source || !r.target) continue
    const rule: MappingConfig['rules'][number] = { source, target: r.target }
    const field = fields?.find((f) => f.code === r.target)
    const enumMap: Record<string, string> = {}
    for (const x of r.enums) if (x.answer.trim() && x.id) enumMap[x.answer.trim()] = x.id
    if (Object.keys(enumMap).length && (!fields || hasItems(field))) rule.enumMap = enumMap
    out.rules.push(rule)
  }
  Object.assign(out.constants, e.extra)
  for (const k of CONSTANT_KEYS) {
    const v = e.constants[k]
    if (!v || v === NONE) continue
    // A deal has no lead status: in simple CRM mode the status constant is not kept.
    if (k === 'STATUS_ID' && simple) continue
    out.constants[k] = k === 'ASSIGNED_BY_ID' && /^\d+$/.test(v) ? Number(v) : v
  }
  return out
}

/** What stops a save before anything is sent, one line each. */
export function problemsOf(e: Editor, t: Strings): string[] {
  return e.rules.flatMap((r, i) => (!r.source.trim() || !r.target ? [fmt(t.rule_incomplete, { n: i + 1 })] : []))
}

/** A stable text of a mapping, to compare the screen's with the saved one. */
export function mappingKey(m: MappingConfig): string {
  const constants = Object.fromEntries(
    Object.entries(m.constants ?? {})
      .filter(([, v]) => v !== '' && v !== null && v !== undefined)
      .map(([k, v]) => [k, k === 'ASSIGNED_BY_ID' && /^\d+$/.test(String(v)) ? Number(v) : v])
      .sort(([a], [b]) => String(a).localeCompare(String(b))),
  )
  const rules = (m.rules ?? []).map((r) =>
    r.enumMap && Object.keys(r.enumMap).length
      ? { source: r.source, target: r.target, enumMap: r.enumMap }
      : { source: r.source, target: r.target },
  )
  return JSON.stringify({ rules, constants })
}

/** A field as a person picks it: title (code) · required, list, multiple. */
export function fieldLabel(f: Field, t: Strings): string {
  const marks: string[] = []
  if (f.isRequired) marks.push(t.field_required)
  if (hasItems(f)) marks.push(t.field_list)
  if (f.isMultiple) marks.push(t.field_multiple)
  const title = f.title && f.title !== f.code ? `${f.title} (${f.code})` : f.code
  return marks.length ? `${title} · ${marks.join(', ')}` : title
}

export function metaLabel(source: string, t: Strings): string {
  return (t as unknown as Record<string, string | undefined>)[`meta_${source.slice(5)}`] || source
}

export interface Item {
  label: string
  value?: string
  type?: 'label' | 'item'
}

/**
 * The rule's TikTok side: answers seen, the connected forms' questions no lead has answered yet,
 * lead details, "other question".
 */
export function sourceItems(questions: readonly string[], fromForms: readonly string[], t: Strings): Item[] {
  const unseen = fromForms.filter((q) => !questions.includes(q))
  const group = (label: string, list: readonly string[]): Item[] =>
    list.length ? [{ type: 'label', label }, ...list.map((q) => ({ label: q, value: q }))] : []
  return [
    ...group(t.group_answers, questions),
    ...group(t.group_form_questions, unseen),
    { type: 'label', label: t.group_meta },
    ...META_SOURCES.map((m) => ({ label: metaLabel(m, t), value: m })),
    { type: 'label', label: '—' },
    { label: t.rule_other, value: OTHER },
  ]
}

/** The rule's Bitrix24 side, grouped (contact, deal, standard, custom); a saved target gone from the portal stays. */
export function targetItems(fields: readonly Field[] | null, current: string, t: Strings): Item[] {
  const usable = (fields ?? []).filter((f) => !f.isReadOnly && !RESERVED_TARGETS.includes(f.code))
  const groups: Array<[string, Field[]]> = [
    [t.group_contact_fields, usable.filter((f) => f.entity === 'contact')],
    [t.group_deal_fields, usable.filter((f) => f.entity === 'deal' && !f.code.startsWith('UF_CRM_'))],
    [t.group_std_fields, usable.filter((f) => !f.entity && !f.code.startsWith('UF_CRM_'))],
    [t.group_custom_fields, usable.filter((f) => f.entity !== 'contact' && f.code.startsWith('UF_CRM_'))],
  ]
  const out: Item[] = []
  if (current && !usable.some((f) => f.code === current))
    out.push({ label: fields ? fmt(t.field_missing, { code: current }) : current, value: current })
  for (const [label, list] of groups) {
    if (!list.length) continue
    out.push({ type: 'label', label }, ...list.map((f) => ({ label: fieldLabel(f, t), value: f.code })))
  }
  return out
}

export function displayValue(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (Array.isArray(v))
    return v
      .map((x) =>
        x && typeof x === 'object' && 'VALUE' in x
          ? String((x as { VALUE: unknown }).VALUE) +
            ((x as { VALUE_TYPE?: string }).VALUE_TYPE ? ` (${(x as { VALUE_TYPE?: string }).VALUE_TYPE})` : '')
          : displayValue(x),
      )
      .join(', ')
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

/** A previewed value as a person reads it: users, sources, stages and list items by name. */
export function describeValue(code: string, v: unknown, fields: FieldsView | null): string {
  const text = displayValue(v)
  if (!fields || v === null || v === undefined || typeof v === 'object') return text
  const named =
    code === 'ASSIGNED_BY_ID'
      ? fields.users.find((u) => String(u.id) === text)
      : code === 'SOURCE_ID'
        ? fields.sources.find((x) => x.id === text)
        : code === 'STATUS_ID'
          ? fields.statuses.find((x) => x.id === text)
          : undefined
  if (named) return `${named.name} (${text})`
  const item = fields.fields.find((f) => f.code === code)?.items.find((x) => String(x.id) === text)
  return item ? `${item.value} (${text})` : text
}

/**
 * A mapping the server saved by itself (create-field adds a rule for the new lead field): loaded as is when nothing is being edited, else only
 * its rules the edits lack are added to them, so no unsaved change is lost.
 */
export function withServerMapping(
  e: Editor,
  mapping: MappingConfig,
  editing: boolean,
  questions: readonly string[],
  fromForms: readonly string[] = [],
): Editor {
  const fresh = editorOf(mapping, questions, fromForms)
  if (!editing) return fresh
  const have = new Set(e.rules.map((r) => `${r.source}\u0000${r.target}`))
  return { ...e, rules: [...e.rules, ...fresh.rules.filter((r) => !have.has(`${r.source}\u0000${r.target}`))] }
}
