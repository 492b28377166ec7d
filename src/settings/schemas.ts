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

/** GET /api/settings/card: which Bitrix24 record (a lead, or a deal in simple CRM mode) by its id there. */
export const CardQuery = z.object({
  entity: z.enum(['lead', 'deal']),
  id: z.coerce.number().int().positive(),
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

/** A to-do's deadline after delivery, minutes: a minute to a day. */
export const TodoMinutes = z
  .number({ message: 'must be a whole number of minutes' })
  .int('must be a whole number of minutes')
  .min(1, 'must be at least 1 minute')
  .max(1440, 'must be at most 1440 minutes (a day)')

/**
 * A to-do's reminders: minutes before its deadline, each once, at most 5 (crm.activity.todo.add
 * pingOffsets: [0, 15] = at the deadline and 15 minutes before). Stored sorted.
 * @see https://apidocs.bitrix24.com/api-reference/crm/timeline/activities/todo/crm-activity-todo-add.html
 */
export const TodoPings = z
  .array(
    z
      .number({ message: 'each reminder must be a whole number of minutes' })
      .int('each reminder must be a whole number of minutes')
      .min(0, 'a reminder cannot come after the deadline (use 0 for at the deadline)')
      .max(1440, 'a reminder can be at most 1440 minutes (a day) before the deadline'),
  )
  .max(5, 'at most 5 reminders')
  .refine((v) => new Set(v).size === v.length, 'each reminder only once')

/** Hours without a lead before the admins are alerted: an hour to a week. */
export const SilenceHours = z
  .number({ message: 'must be a whole number of hours' })
  .int('must be a whole number of hours')
  .min(1, 'must be at least 1 hour')
  .max(168, 'must be at most 168 hours (a week)')

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
  /** Speed-to-lead: notify the lead's responsible user in Bitrix24 at delivery. Left out: unchanged. */
  notify_responsible: z.boolean().optional(),
  /** Speed-to-lead: a to-do due this many minutes after delivery; null = no to-do. Left out: unchanged. */
  todo_minutes: TodoMinutes.nullable().optional(),
  /** The to-do's reminders, minutes before its deadline (0 = at the deadline). Left out: unchanged. */
  todo_pings: TodoPings.optional(),
  /** Alert the admins when no lead came for this many hours where leads normally come; null = off. Left out: unchanged. */
  alert_silence_hours: SilenceHours.nullable().optional(),
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
  CardLeadView,
  CardView,
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
