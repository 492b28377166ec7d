/**
 * How one CRM entity (lead, deal, contact) is described to the shared crm.*.add/get/update/list
 * code: its field table, its store, its defaults and derived values.
 * @see api-reference/crm/leads/crm-lead-fields.md
 */
import type { IdKind, PortalState } from '../state.js'
import type { CallContext } from './registry.js'

export type FieldType =
  | 'integer'
  | 'string'
  | 'char'
  | 'double'
  | 'date'
  | 'datetime'
  | 'crm_status'
  | 'user'
  | 'crm_currency'
  | 'crm_company'
  | 'crm_contact'
  | 'crm_lead'
  | 'crm_category'
  | 'crm_multifield'

export interface FieldDef {
  name: string
  type: FieldType
  title: string
  readOnly?: boolean
  multiple?: boolean
  statusType?: string
  deprecated?: boolean
}

export interface EntitySpec {
  typeName: 'LEAD' | 'DEAL' | 'CONTACT'
  idKind: IdKind
  eventPrefix: string
  fields: FieldDef[]
  /** Whether the portal's user fields (addUserField) apply; the emulator keeps them on leads. */
  userFields: boolean
  store(portal: PortalState): Map<number, Record<string, unknown>>
  /** A new record before the caller's fields apply. */
  blank(ctx: CallContext, id: number, nowIso: string): Record<string, unknown>
  /** Derived values after the caller's fields apply (default title, semantics, HAS_PHONE …). */
  finalize(record: Record<string, unknown>, ctx: CallContext, mode: 'add' | 'update'): void
  /** After a successful add (e.g. simple-mode conversion of a lead). */
  afterAdd?(record: Record<string, unknown>, ctx: CallContext): void
}

export const MULTIFIELD_TYPES = ['PHONE', 'EMAIL', 'WEB', 'IM'] as const
export const PAGE_SIZE = 50

/** `2024-05-23T18:18:25+00:00`, the portal's datetime format. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00')
}

/** One row of a compact field table: [name, type, title, flags, statusType]. */
export type FieldRow = [string, FieldType, string, string?, string?]

/** Compact field tables (FieldRow); flags r=read-only m=multiple d=deprecated. */
export function fieldTable(rows: FieldRow[]): FieldDef[] {
  return rows.map(([name, type, title, flags = '', statusType]) => ({
    name,
    type,
    title,
    ...(flags.includes('r') ? { readOnly: true } : {}),
    ...(flags.includes('m') ? { multiple: true } : {}),
    ...(flags.includes('d') ? { deprecated: true } : {}),
    ...(statusType ? { statusType } : {}),
  }))
}
