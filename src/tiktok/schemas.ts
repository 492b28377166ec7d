import { z } from 'zod'

/**
 * The lead bodies this app accepts, and the one shape every adapter turns them into.
 *
 * TikTok's names (`page_id`, `lead_data`, `create_time` …) stay verbatim here and are mapped once,
 * in `adapters.ts`. These schemas expect the body to have been parsed with
 * `parseJsonPreservingBigInts`: a numeric id that is not a safe integer means precision was
 * already lost, and it is rejected rather than stored under a wrong, possibly colliding, id.
 *
 * @see https://business-api.tiktok.com/portal/docs (Lead Generation: lead webhook body, lead fields)
 */

/** Error text that says what is wrong with a field: "is missing" or "must be …". */
function must(what: string) {
  return { error: (iss: { input?: unknown }) => (iss.input === undefined ? 'is missing' : `must be ${what}`) }
}

function numberToId(v: string | number, ctx: z.RefinementCtx): string {
  if (typeof v === 'string') return v.trim()
  if (!Number.isSafeInteger(v) || v < 0) {
    ctx.addIssue({
      code: 'custom',
      message: `must be a string or a whole number within 2^53 (got ${v}; parse the raw body with parseJsonPreservingBigInts so 19-digit ids keep their digits)`,
    })
    return z.NEVER
  }
  return String(v)
}

/**
 * A lead id (TikTok `entry.id`, `meta_data.lead_id`, or a forwarder's `event_id`). It becomes the
 * dedupe key and the Bitrix24 ORIGIN_ID, so it must be a plain identifier.
 */
export const LeadIdValue = z
  .union([z.string(), z.number()], must('a string or number'))
  .transform(numberToId)
  .pipe(
    z
      .string()
      .min(1, { message: 'is empty', abort: true })
      .max(128, { message: 'is longer than 128 characters', abort: true })
      .regex(/^[A-Za-z0-9_.:@-]+$/, 'must contain only letters, digits and _ . : @ -'),
  )

/** Any other TikTok id (advertiser, form, campaign …): string or number; empty means absent. */
const OptionalId = z
  .union([z.string(), z.number()], must('a string or number'))
  .transform(numberToId)
  .nullish()
  .transform((v) => (v ? v : null))

/** A display name (form, campaign, ad …); empty means absent. */
const OptionalText = z
  .union([z.string(), z.number()], must('a string'))
  .nullish()
  .transform((v) => (v === null || v === undefined ? null : String(v).trim() || null))

/**
 * Lead creation time: unix seconds (webhook), a numeric string, or a "YYYY-MM-DD HH:MM:SS" UTC
 * datetime (pull endpoints). Kept raw here; `adapters.ts` turns it into ISO 8601 or null.
 */
const CreateTime = z.union([z.string(), z.number()], must('unix seconds or a datetime string')).nullish()

/** A question key: `name`, `phone_number`, or the text of a custom question. */
const FieldKey = z.string(must('a string')).trim().min(1, 'is empty')

/**
 * An answer. Documented as a string; numbers and lists (multi-select, encoding undocumented) are
 * accepted too, and anything else is kept as JSON text rather than losing the lead over it.
 */
const AnswerValue = z.unknown()

/** `field: value` pairs of the pull / test-lead / forwarder shapes. */
const FlatAnswers = z.record(z.string(), AnswerValue, must('an object of field: value pairs'))

// ---------------------------------------------------------------------------------------------
// (a) The Subscription-API notification

/** `object` tells lead notifications (1) from ad-review, fatigue and status events on the same URL. */
export const NotificationObject = z
  .union([z.number(), z.string().trim().regex(/^\d+$/, 'must be a number')], must('a number'))
  .transform((v) => Number(v))

/** Just enough to route a notification before its entries are checked (non-lead entries differ). */
export const TikTokNotificationEnvelope = z.object({
  request_id: OptionalText,
  object: NotificationObject,
  time: z.unknown().optional(),
  entry: z.unknown().optional(),
})
export type TikTokNotificationEnvelope = z.infer<typeof TikTokNotificationEnvelope>

export const TikTokLeadChange = z.object(
  {
    field: FieldKey,
    value: AnswerValue,
  },
  must('an object {field, value}'),
)
export type TikTokLeadChange = z.infer<typeof TikTokLeadChange>

/** Where a lead came from: the same keys in the notification's entries and the pull shape's meta_data. */
const AdMetadata = {
  lead_source: OptionalText,
  form_id: OptionalId,
  form_name: OptionalText,
  page_id: OptionalId,
  page_name: OptionalText,
  advertiser_id: OptionalId,
  advertiser_name: OptionalText,
  campaign_id: OptionalId,
  campaign_name: OptionalText,
  adgroup_id: OptionalId,
  adgroup_name: OptionalText,
  ad_id: OptionalId,
  ad_name: OptionalText,
  create_time: CreateTime,
}
export type AdMetadata = z.infer<z.ZodObject<typeof AdMetadata>>

export const TikTokLeadEntry = z.object(
  {
    id: LeadIdValue,
    ...AdMetadata,
    library_id: OptionalId,
    changes: z.array(TikTokLeadChange, must('an array of {field, value}')),
  },
  must('an object'),
)
export type TikTokLeadEntry = z.infer<typeof TikTokLeadEntry>

/** A lead notification (`object` 1): one entry per lead. */
export const TikTokLeadWebhook = z.object({
  request_id: OptionalText,
  object: NotificationObject,
  time: z.unknown().optional(),
  entry: z.array(TikTokLeadEntry, must('an array')),
})
export type TikTokLeadWebhook = z.infer<typeof TikTokLeadWebhook>

// ---------------------------------------------------------------------------------------------
// (b) Pull / test lead: `/page/lead/mock/create|get/`, `/lead/get/`

export const TikTokPullMeta = z.object({ lead_id: LeadIdValue, ...AdMetadata }, must('an object'))

export const TikTokPullLead = z.object({
  lead_data: FlatAnswers,
  meta_data: TikTokPullMeta,
})
export type TikTokPullLead = z.infer<typeof TikTokPullLead>

/** TikTok's REST envelope, in case someone posts the mock-lead API answer as it came. */
export const TikTokApiEnvelope = z.object({
  code: z.union([z.number(), z.string()], must('a number')).transform((v) => Number(v)),
  message: z.string().optional(),
  request_id: z.string().optional(),
  data: z.unknown(),
})

// ---------------------------------------------------------------------------------------------
// (c) Forwarders (Zapier, Make, users' scripts), after seed 000

/** The forwarder's `campaign` block carries TikTok's metadata keys. */
const ForwarderCampaign = z.object(AdMetadata, must('an object'))

export const ForwarderLead = z.object({
  event_id: LeadIdValue,
  lead_data: FlatAnswers,
  campaign: ForwarderCampaign.nullish(),
  create_time: CreateTime,
  created_at: CreateTime,
})
export type ForwarderLead = z.infer<typeof ForwarderLead>

// ---------------------------------------------------------------------------------------------
// The normalised lead every format becomes

export const LeadFormat = z.enum(['notification', 'pull', 'forwarder', 'export'])
export type LeadFormat = z.infer<typeof LeadFormat>

export const LeadAnswer = z.object({ key: z.string().min(1), value: z.string() })
export type LeadAnswer = z.infer<typeof LeadAnswer>

export const NormalizedLead = z.object({
  leadId: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9_.:@-]+$/),
  format: LeadFormat,
  /** When the lead was made (UTC), not when TikTok sent it; null when the body does not say. */
  createdAt: z.iso.datetime().nullable(),
  formId: z.string().nullable(),
  formName: z.string().nullable(),
  pageId: z.string().nullable(),
  pageName: z.string().nullable(),
  advertiserId: z.string().nullable(),
  advertiserName: z.string().nullable(),
  campaignId: z.string().nullable(),
  campaignName: z.string().nullable(),
  adgroupId: z.string().nullable(),
  adgroupName: z.string().nullable(),
  adId: z.string().nullable(),
  adName: z.string().nullable(),
  /** Every answered field in arrival order, custom questions included; lists joined with ', '. */
  answers: z.array(LeadAnswer),
})
export type NormalizedLead = z.infer<typeof NormalizedLead>

/**
 * Standard field keys seen in TikTok lead payloads. Custom questions arrive keyed by their
 * question text (inferred), so this list is for recognising, never for filtering.
 * @see https://business-api.tiktok.com/portal/docs (Lead Generation: lead fields)
 */
export const STANDARD_FIELD_KEYS = [
  'name',
  'full_name',
  'first_name',
  'last_name',
  'email',
  'work_email',
  'phone_number',
  'phone',
  'work_phone_number',
  'gender',
  'city',
  'state',
  'province',
  'country',
  'zip_code',
  'postal_code',
  'street_address',
  'address',
  'company_name',
  'job_title',
  'scheduled_time',
] as const
