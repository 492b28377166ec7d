import { z } from 'zod'
import { DEFAULT_RATE_PER_S, ENTERPRISE_RATE_PER_S } from '../bitrix24/limits.js'
import { NAME_ORDERS, type NameOrder } from '../mapping/name-order.js'
import { DefaultCountry, MappingConfig } from '../mapping/schemas.js'

/**
 * The settings tab's API: request bodies (validated here) and answer shapes (what the page's
 * script reads). Every request carries the signed session token in `X-Session` and every change
 * also the CSRF token in `X-CSRF-Token` (both are embedded in the page; no cookies, since
 * browsers block third-party cookies inside the Bitrix24 iframe).
 */

export const LeadStatusFilter = z.enum(['received', 'queued', 'sending', 'delivered', 'duplicate', 'failed'])

export const LeadsQuery = z.object({
  status: LeadStatusFilter.optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
})

/** The retention choices the tab offers (days; 0 = keep everything, null = the server default). */
export const RetentionDays = z.union([
  z.literal(30),
  z.literal(90),
  z.literal(180),
  z.literal(365),
  z.literal(0),
  z.null(),
])
export type RetentionDays = z.infer<typeof RetentionDays>

export const OptionsBody = z.object({
  dedup_policy: z.enum(['off', 'skip', 'update', 'link']),
  rate_per_s: z.union([z.literal(DEFAULT_RATE_PER_S), z.literal(ENTERPRISE_RATE_PER_S)]),
  default_country: DefaultCountry,
  verify_mode: z.enum(['log_only', 'enforce']),
  /**
   * Days finished leads' raw payloads, delivered leads' answers and stored events are kept: null =
   * the server default (RETENTION_DAYS), 0 = keep everything. Left out: unchanged.
   */
  retention_days: RetentionDays.optional(),
  /** How a full name is split into NAME / LAST_NAME. Left out: unchanged. */
  name_order: z.enum(NAME_ORDERS).optional(),
})
export type OptionsBody = z.infer<typeof OptionsBody>
/** The options as the tab shows them: the retention always present, with the server default beside it. */
export type OptionsView = Omit<OptionsBody, 'retention_days' | 'name_order'> & {
  retention_days: RetentionDays
  retention_default_days: number
  name_order: NameOrder
}

export const MappingBody = MappingConfig
export const PreviewBody = z.object({ mapping: MappingConfig })

export const ResendBody = z.union([
  z.object({ all: z.literal(true) }),
  z.object({ ids: z.array(z.number().int().positive()).min(1).max(500) }),
])

/** GET /api/settings/tiktok and every TikTok action's answer (src/settings/tiktok-routes.ts) */
export type { TikTokView } from '../tiktok-business/view-schema.js'

/** GET /api/settings/state */
export interface StateView {
  portal: {
    memberId: string
    domain: string
    state: 'active' | 'needs_reauth' | 'uninstalled'
    stateReason: string | null
  }
  user: { id: number; name: string; isAdmin: boolean }
  /** one plain-language line per problem, empty when all is well */
  problems: string[]
  queue: { pending: number; sending: number; failed: number }
  lastDeliveryAt: string | null
  webhook: {
    /** administrators only: null for other users, who see that a URL and secret exist, not their values */
    url: string | null
    secretMasked: string | null
    /** until when the URL before the last rotation still accepts leads (administrators only) */
    previousUrlValidUntil: string | null
    verifyMode: 'log_only' | 'enforce'
    lastScheme: string | null
    lastDetail: string | null
    lastWebhookAt: string | null
  }
  options: OptionsView
  mapping: z.infer<typeof MappingConfig>
  /** answer keys seen in this portal's latest leads (custom questions included) */
  questions: string[]
  /** what a TikTok lead becomes on this portal: a lead, or in simple CRM mode (leads off) a contact and a deal */
  crm?: { mode: 1 | 2 | null; creates: 'lead' | 'contact_and_deal'; text: string }
}

/** GET /api/settings/fields */
export interface FieldsView {
  /** 1 classic: lead fields; 2 simple CRM (leads off): contact and deal fields, each marked with its `entity` */
  crmMode?: 1 | 2
  fields: Array<{
    code: string
    title: string
    type: string
    isMultiple: boolean
    isReadOnly: boolean
    isRequired: boolean
    items: Array<{ id: string; value: string }>
    entity?: 'contact' | 'deal'
  }>
  users: Array<{ id: number; name: string }>
  sources: Array<{ id: string; name: string }>
  statuses: Array<{ id: string; name: string }>
}

/** GET /api/settings/leads */
export interface LeadRowView {
  id: number
  tiktokLeadId: string
  status: z.infer<typeof LeadStatusFilter>
  isTest: boolean
  name: string | null
  receivedAt: string
  doneAt: string | null
  deliveryMs: number | null
  attempts: number
  b24LeadId: number | null
  b24LeadUrl: string | null
  lastError: string | null
  duplicateOf: string | null
  /** where it stands in Bitrix24 now (STATUS_ID / a deal's STAGE_ID, read after an offline event); null until then */
  b24Stage?: { id: string; semantic: 'P' | 'S' | 'F' | null; at: string | null } | null
}

/** GET /api/settings/stats */
export interface StatsView {
  days: Array<{
    date: string
    received: number
    delivered: number
    duplicate: number
    failed: number
    medianDeliveryMs: number | null
  }>
  today: { received: number; delivered: number; duplicate: number; failed: number; medianDeliveryMs: number | null }
  week: { received: number; delivered: number; duplicate: number; failed: number; medianDeliveryMs: number | null }
}
