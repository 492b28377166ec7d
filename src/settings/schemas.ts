import { z } from 'zod'
import { DEFAULT_RATE_PER_S, ENTERPRISE_RATE_PER_S } from '../bitrix24/limits.js'
import { NAME_ORDERS } from '../mapping/name-order.js'
import { DefaultCountry, MappingConfig } from '../mapping/schemas.js'

/**
 * The settings tab's API: request bodies and queries (validated here); its answers are in
 * answers.ts. Every request carries the signed session token in `X-Session` and every change
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
export const MappingBody = MappingConfig
export const PreviewBody = z.object({ mapping: MappingConfig })

export const ResendBody = z.union([
  z.object({ all: z.literal(true) }),
  z.object({ ids: z.array(z.number().int().positive()).min(1).max(500) }),
])

/**
 * The answers' types, for the tab's code (src/web imports them from here, types only: the schemas
 * themselves are in answers.ts, which imports this module's request schemas).
 */
export type {
  FieldCreated,
  FieldsView,
  LeadRowView,
  LeadsPage,
  MappingPreview,
  MappingSaved,
  OptionsSaved,
  OptionsView,
  ResendAnswer,
  SecretRevealed,
  SecretRotated,
  StateView,
  StatsView,
  TestLeadAnswer,
  TikTokConnectAnswer,
  TikTokTestLeadAnswer,
  TikTokView,
  WebhookRotated,
} from './answers.js'
