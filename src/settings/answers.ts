import { z } from 'zod'
import { MappingConfig } from '../mapping/schemas.js'
import { NAME_ORDERS } from '../mapping/name-order.js'
import { AnalyticsView } from '../analytics/view-schema.js'
import { TikTokView } from '../tiktok-business/view-schema.js'
import { LeadStatusFilter, OptionsBody, RetentionDays } from './schemas.js'

/**
 * What the settings API answers, one schema per answer. Each is its route's `response: { 200 }`,
 * so the serializer drops any key not listed here (nothing leaks that was not meant to) and
 * refuses an answer of the wrong shape, /openapi.json documents it, and the tab's types are
 * these schemas' inferred types (schemas.ts re-exports them under the names src/web imports).
 */

/** The options as the tab shows them: the retention always present, with the server default beside it. */
export const OptionsView = OptionsBody.extend({
  retention_days: RetentionDays,
  retention_default_days: z.number().int().describe("the server's RETENTION_DAYS, used while retention_days is null"),
  name_order: z.enum(NAME_ORDERS),
  notify_responsible: z.boolean(),
  todo_minutes: z.number().int().nullable().describe('minutes after delivery the to-do is due; null = no to-do'),
  todo_pings: z.array(z.number().int()).describe("the to-do's reminders, minutes before its deadline"),
  alert_silence_hours: z
    .number()
    .int()
    .nullable()
    .describe('hours without a lead before the admins are alerted; null = off'),
})
export type OptionsView = z.infer<typeof OptionsView>

/** POST /api/settings/options */
export const OptionsSaved = z.object({ ok: z.literal(true), options: OptionsView })
export type OptionsSaved = z.infer<typeof OptionsSaved>

const nullableTime = z.string().nullable()

/** GET /api/settings/state (also embedded in the page the tab starts from) */
export const StateView = z.object({
  portal: z.object({
    memberId: z.string(),
    domain: z.string(),
    state: z.enum(['active', 'needs_reauth', 'uninstalled']),
    stateReason: z.string().nullable(),
  }),
  user: z.object({ id: z.number().int(), name: z.string(), isAdmin: z.boolean() }),
  problems: z.array(z.string()).describe('one plain-language line per problem, empty when all is well'),
  queue: z.object({ pending: z.number().int(), sending: z.number().int(), failed: z.number().int() }),
  lastDeliveryAt: nullableTime,
  webhook: z.object({
    // Administrators only: other users learn that a URL and a secret exist, not their values.
    url: z.string().nullable().describe('null for users who are not portal administrators'),
    secretMasked: z.string().nullable().describe('null for users who are not portal administrators'),
    previousUrlValidUntil: nullableTime.describe('until when the URL before the last rotation still accepts leads'),
    verifyMode: z.enum(['log_only', 'enforce']),
    lastScheme: z.string().nullable(),
    lastDetail: z.string().nullable(),
    lastWebhookAt: nullableTime,
  }),
  options: OptionsView,
  mapping: MappingConfig,
  questions: z.array(z.string()).describe("answer keys seen in this portal's latest leads and connected forms"),
  crm: z
    .object({
      mode: z.union([z.literal(1), z.literal(2)]).nullable(),
      creates: z.enum(['lead', 'contact_and_deal']),
      text: z.string(),
    })
    .optional()
    .describe('what a TikTok lead becomes here: a lead, or in simple CRM mode (leads off) a contact and a deal'),
})
export type StateView = z.infer<typeof StateView>

const Named = z.object({ id: z.string(), name: z.string() })

/** GET /api/settings/fields */
export const FieldsView = z.object({
  crmMode: z
    .union([z.literal(1), z.literal(2)])
    .optional()
    .describe('1 classic: lead fields; 2 simple CRM (leads off): contact and deal fields, each with its entity'),
  fields: z.array(
    z.object({
      code: z.string(),
      title: z.string(),
      type: z.string(),
      isMultiple: z.boolean(),
      isReadOnly: z.boolean(),
      isRequired: z.boolean(),
      items: z.array(z.object({ id: z.string(), value: z.string() })),
      entity: z.enum(['contact', 'deal']).optional(),
    }),
  ),
  users: z.array(z.object({ id: z.number().int(), name: z.string() })),
  sources: z.array(Named),
  statuses: z.array(Named),
})
export type FieldsView = z.infer<typeof FieldsView>

/** One row of the delivery log (names masked for users who are not administrators). */
export const LeadRowView = z.object({
  id: z.number().int(),
  tiktokLeadId: z.string(),
  status: LeadStatusFilter,
  isTest: z.boolean(),
  name: z.string().nullable(),
  receivedAt: z.string(),
  doneAt: nullableTime,
  deliveryMs: z.number().nullable(),
  firstContactMs: z
    .number()
    .nullable()
    .optional()
    .describe(
      'delivery to the first stage change or completed activity in Bitrix24 (a person worked the lead); null until then',
    ),
  attempts: z.number().int(),
  b24LeadId: z.number().int().nullable(),
  b24LeadUrl: z.string().nullable(),
  lastError: z.string().nullable(),
  duplicateOf: z.string().nullable(),
  b24Stage: z
    .object({ id: z.string(), semantic: z.enum(['P', 'S', 'F']).nullable(), at: nullableTime })
    .nullable()
    .optional()
    .describe("where it stands in Bitrix24 now (a lead's STATUS_ID or a deal's STAGE_ID); null until known"),
  tiktokEvents: z
    .array(
      z.object({
        event: z.string().describe('the TikTok CRM event, e.g. Qualified'),
        status: z.enum(['pending', 'sent', 'too_old', 'failed']),
        at: z.string().describe("sent: when TikTok took it; otherwise the stage change's time"),
        error: z.string().nullable().describe('why it is not sent (yet), in plain words'),
      }),
    )
    .optional()
    .describe("the stage changes sent back to TikTok's Events API, oldest first"),
})
export type LeadRowView = z.infer<typeof LeadRowView>

const IdName = z.object({ id: z.string().nullable(), name: z.string().nullable() })

/** One TikTok lead in a card tab: its delivery-log row, where it came from on TikTok and what it carried. */
export const CardLeadView = LeadRowView.extend({
  createdAt: nullableTime.describe("when the person sent the form (TikTok's time); null when the body did not say"),
  form: IdName.describe('the instant form'),
  advertiser: IdName.describe('the ad account'),
  campaign: IdName,
  adgroup: IdName,
  ad: IdName,
  answers: z
    .array(z.object({ key: z.string(), value: z.string() }))
    .describe('the answers as the lead carried them, in order (values masked for users who are not administrators)'),
  raw: z
    .unknown()
    .describe(
      'the payload as TikTok (or a forwarder) sent it, credentials redacted and values masked for users who are not administrators; null once purged',
    ),
  purged: z
    .boolean()
    .describe("true: the retention period is over, the payload (and a delivered lead's answers) deleted"),
  tiktokEvents: LeadRowView.shape.tiktokEvents.unwrap(),
})
export type CardLeadView = z.infer<typeof CardLeadView>

/** GET /api/settings/card (also embedded in the card tab's page): one Bitrix24 lead's (or deal's) TikTok story */
export const CardView = z.object({
  entity: z.enum(['lead', 'deal']).describe('a lead, or in simple CRM mode a deal'),
  b24Id: z.number().int(),
  personal: z.boolean().describe('false: names, answers and the payload are masked (users who are not administrators)'),
  leads: z
    .array(CardLeadView)
    .describe('the TikTok leads delivered to it, newest first; empty: it did not come from TikTok (through this app)'),
})
export type CardView = z.infer<typeof CardView>

/** GET /api/settings/leads */
export const LeadsPage = z.object({
  leads: z.array(LeadRowView),
  nextBefore: z.number().int().nullable().describe('the `before` of the next older page; null on the last page'),
})
export type LeadsPage = z.infer<typeof LeadsPage>

/** POST /api/settings/test-lead */
export const TestLeadAnswer = z.object({ ok: z.literal(true), leadId: z.number().int(), tiktokLeadId: z.string() })
export type TestLeadAnswer = z.infer<typeof TestLeadAnswer>

/** POST /api/settings/leads/resend */
export const ResendAnswer = z.object({ ok: z.literal(true), requeued: z.number().int() })
export type ResendAnswer = z.infer<typeof ResendAnswer>

const Bucket = z.object({
  received: z.number().int(),
  delivered: z.number().int(),
  duplicate: z.number().int(),
  failed: z.number().int(),
  medianDeliveryMs: z.number().nullable(),
  medianFirstContactMs: z
    .number()
    .nullable()
    .describe("median delivery to first contact of the bucket's delivered leads someone has worked; null: none yet"),
})

/** GET /api/settings/stats */
export const StatsView = z.object({
  days: z.array(Bucket.extend({ date: z.string() })).describe('the last 7 UTC days, oldest first'),
  today: Bucket,
  week: Bucket,
})
export type StatsView = z.infer<typeof StatsView>

/** POST /api/settings/mapping */
export const MappingSaved = z.object({
  ok: z.literal(true),
  mapping: MappingConfig,
  warnings: z.array(z.string()).describe('what the saved mapping would lose of the latest lead'),
})
export type MappingSaved = z.infer<typeof MappingSaved>

/** POST /api/settings/preview */
export const MappingPreview = z.object({
  lead: z
    .object({ tiktokLeadId: z.string(), answers: z.array(z.object({ key: z.string(), value: z.string() })) })
    .nullable()
    .describe('the lead previewed (values masked for users who are not administrators); null with no lead yet'),
  fields: z.record(z.string(), z.unknown()).describe('the Bitrix24 fields the mapping makes of it'),
  warnings: z.array(z.string()),
})
export type MappingPreview = z.infer<typeof MappingPreview>

/** POST /api/settings/secret/reveal (administrators only) */
export const SecretRevealed = z.object({ secret: z.string() })
export type SecretRevealed = z.infer<typeof SecretRevealed>

/** POST /api/settings/secret/rotate (administrators only) */
export const SecretRotated = z.object({
  secret: z.string(),
  secretMasked: z.string(),
  previousValidUntil: z.string().describe('until when the secret before this one still verifies'),
})
export type SecretRotated = z.infer<typeof SecretRotated>

/** POST /api/settings/webhook/rotate (administrators only) */
export const WebhookRotated = z.object({
  url: z.string(),
  previousValidUntil: z.string().describe('until when the URL before this one still accepts leads'),
})
export type WebhookRotated = z.infer<typeof WebhookRotated>

/** GET /api/settings/tiktok and every TikTok action on a connection */
export { TikTokView }

/** GET /api/settings/analytics (src/analytics/view-schema.ts) */
export { AnalyticsView }

/** POST /api/settings/tiktok/connect */
export const TikTokConnectAnswer = z.object({ authUrl: z.string().describe("TikTok's authorisation page to open") })
export type TikTokConnectAnswer = z.infer<typeof TikTokConnectAnswer>

/** POST /api/settings/tiktok/test-lead */
export const TikTokTestLeadAnswer = z.object({ ok: z.literal(true), leadId: z.string() })
export type TikTokTestLeadAnswer = z.infer<typeof TikTokTestLeadAnswer>

/** GET /api/settings/quality and POST /api/settings/quality: lead quality back to TikTok for one ad account */
export const QualityView = z.object({
  advertiserId: z.string(),
  entity: z.enum(['lead', 'deal']).describe('whose stages are mapped: leads, or deals in simple CRM mode'),
  eventSets: z
    .array(z.object({ eventSetId: z.string(), name: z.string() }))
    .describe("the ad account's CRM event sets (crm/list)"),
  eventSetsError: z.string().nullable().describe('why TikTok did not list them; null when it did'),
  chosen: z.object({ eventSetId: z.string(), name: z.string() }).nullable().describe('null: nothing is sent'),
  saved: z.boolean().describe('false: the map below is the default from the stage semantics, not saved yet'),
  stages: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      semantic: z.enum(['P', 'S', 'F']),
      event: z.string().nullable().describe('the event this stage sends; null: none'),
      defaultEvent: z.string().nullable(),
    }),
  ),
  standardEvents: z.array(z.string()).describe("TikTok Leads Center's statuses; a custom name is allowed too"),
})
export type QualityView = z.infer<typeof QualityView>

/** POST /api/settings/tiktok/create-field */
export const FieldCreated = z.object({
  fieldName: z.string().describe('the new (or existing) CRM field the question now maps to'),
  mapping: MappingConfig,
})
export type FieldCreated = z.infer<typeof FieldCreated>
