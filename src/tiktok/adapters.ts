import type { z } from 'zod'
import { AppError, Errors } from '../errors.js'
import {
  ForwarderLead,
  TikTokApiEnvelope,
  TikTokLeadWebhook,
  TikTokNotificationEnvelope,
  TikTokPullLead,
  type AdMetadata,
  type NormalizedLead,
} from './schemas.js'
import { answerText, flatAnswers } from './answers.js'
import { toIsoTime } from './create-time.js'

/**
 * Turns any accepted lead body into NormalizedLead records: one small adapter per format.
 *
 * - notification: TikTok's Subscription-API callback `{object, entry[{id, changes[]}]}`;
 * - pull: the test-lead / `/lead/get/` shape `{lead_data, meta_data}`, bare or inside TikTok's
 *   `{code, message, data}` envelope (the research shows only a single lead under `data`, so no
 *   list shapes are guessed at);
 * - forwarder: `{event_id, lead_data, campaign?}` as Zapier/Make/scripts post it (seed 000).
 *
 * Bodies that are TikTok traffic but not leads (`object` ≠ 1, account-suspension notices,
 * TikTok-for-Developers events such as the portal's "Test URL" ping) come back as `ignored`, so
 * the route acknowledges them with a 200 and stores nothing. Anything else throws
 * TikTokBodyError naming the bad field.
 *
 * @see https://business-api.tiktok.com/portal/docs (Lead Generation: lead webhook body, lead fields)
 */

/** The catalogue's APP_ERR_TIKTOK_BODY (src/errors.ts) with every issue found, the message naming them. */
export class TikTokBodyError extends AppError {
  constructor(
    message: string,
    readonly issues: string[] = [message],
  ) {
    super(Errors.tiktokBody.code, Errors.tiktokBody.statusCode, message)
    this.name = 'TikTokBodyError'
  }
}

export type NormalizeResult = { kind: 'leads'; leads: NormalizedLead[] } | { kind: 'ignored'; reason: string }

/** What `object` means on a Subscription-API callback (bububa/tiktok-business enum/webhook_object.go). */
const OBJECT_TYPES: Record<number, string> = {
  1: 'lead',
  2: 'ad group review status',
  3: 'ad review status',
  8: 'creative fatigue',
  10: 'TTO/TCM video linking',
  11: 'reporting metric change',
  14: 'API service status',
}

export function normalizeTikTokBody(body: unknown): NormalizeResult {
  if (!isRecord(body)) {
    throw new TikTokBodyError(`the body must be a JSON object (got ${describeType(body)})`)
  }
  if ('object' in body || 'entry' in body) return fromNotification(body)
  if ('code' in body && 'data' in body) return fromApiEnvelope(body)
  if ('lead_data' in body) {
    if ('meta_data' in body) return fromPull(body, '')
    if ('event_id' in body) return fromForwarder(body)
    throw new TikTokBodyError(
      'lead_data needs either meta_data with lead_id (TikTok pull / test lead) or event_id (forwarder)',
    )
  }
  if ('meta_data' in body) throw new TikTokBodyError('lead_data is missing')
  if ('subscription_id' in body && 'advertiser_id' in body) {
    return { kind: 'ignored', reason: 'ad account status notification (not a lead)' }
  }
  if ('client_key' in body && 'event' in body) {
    const event = typeof body.event === 'string' ? body.event : '?'
    return { kind: 'ignored', reason: `TikTok for Developers event "${event.slice(0, 80)}" (not a lead)` }
  }
  const keys = Object.keys(body).slice(0, 10)
  throw new TikTokBodyError(
    'unrecognised body: expected a TikTok notification {object, entry[]}, a pull / test lead ' +
      `{lead_data, meta_data} or a forwarder body {event_id, lead_data}; top-level keys: ${
        keys.length ? keys.join(', ') : '(none)'
      }`,
  )
}

// ---------------------------------------------------------------------------------------------
// One adapter per format

function fromNotification(body: Record<string, unknown>): NormalizeResult {
  // Route on `object` first: non-lead events carry entries of other shapes and must not fail.
  const envelope = check(TikTokNotificationEnvelope, body, '')
  if (envelope.object !== 1) {
    const what = OBJECT_TYPES[envelope.object] ?? 'unknown type'
    return { kind: 'ignored', reason: `notification object ${envelope.object} (${what}) is not a lead` }
  }
  const webhook = check(TikTokLeadWebhook, body, '')
  if (webhook.entry.length === 0) return { kind: 'ignored', reason: 'lead notification with no entries' }

  const leads = webhook.entry.map(
    (e): NormalizedLead => ({
      leadId: e.id,
      format: 'notification',
      ...fromAdMetadata(e),
      answers: e.changes.map((c) => ({ key: c.field, value: answerText(c.value) })),
    }),
  )
  return { kind: 'leads', leads }
}

const NO_METADATA: AdMetadata = {
  lead_source: null,
  form_id: null,
  form_name: null,
  page_id: null,
  page_name: null,
  advertiser_id: null,
  advertiser_name: null,
  campaign_id: null,
  campaign_name: null,
  adgroup_id: null,
  adgroup_name: null,
  ad_id: null,
  ad_name: null,
  create_time: null,
}

/** TikTok's lead metadata → the normalised fields. */
function fromAdMetadata(m: AdMetadata): Omit<NormalizedLead, 'leadId' | 'format' | 'answers'> {
  return {
    createdAt: toIsoTime(m.create_time),
    // `page_id` is the instant form's id: TikTok calls forms "pages".
    formId: m.form_id ?? m.page_id,
    formName: m.form_name ?? m.page_name,
    pageId: m.page_id,
    pageName: m.page_name,
    advertiserId: m.advertiser_id,
    advertiserName: m.advertiser_name,
    campaignId: m.campaign_id,
    campaignName: m.campaign_name,
    adgroupId: m.adgroup_id,
    adgroupName: m.adgroup_name,
    adId: m.ad_id,
    adName: m.ad_name,
  }
}

function fromApiEnvelope(body: Record<string, unknown>): NormalizeResult {
  const envelope = check(TikTokApiEnvelope, body, '')
  if (envelope.code !== 0) {
    // TikTok answers errors with HTTP 200 and a non-zero code; this is an error reply, not a lead.
    const message = envelope.message ? `: ${envelope.message.slice(0, 200)}` : ''
    throw new TikTokBodyError(`the body is a TikTok API error reply (code ${envelope.code}${message}), not a lead`)
  }
  if (!isRecord(envelope.data)) throw new TikTokBodyError('data must be an object with lead_data and meta_data')
  if (!('lead_data' in envelope.data)) throw new TikTokBodyError('data.lead_data is missing')
  return fromPull(envelope.data, 'data.')
}

function fromPull(body: Record<string, unknown>, prefix: string): NormalizeResult {
  const pull = check(TikTokPullLead, body, prefix)
  const m = pull.meta_data
  const lead: NormalizedLead = {
    leadId: m.lead_id,
    format: 'pull',
    ...fromAdMetadata(m),
    answers: flatAnswers(pull.lead_data),
  }
  return { kind: 'leads', leads: [lead] }
}

function fromForwarder(body: Record<string, unknown>): NormalizeResult {
  const fwd = check(ForwarderLead, body, '')
  const c = fwd.campaign ?? NO_METADATA
  const lead: NormalizedLead = {
    leadId: fwd.event_id,
    format: 'forwarder',
    ...fromAdMetadata({ ...c, create_time: fwd.create_time ?? fwd.created_at ?? c.create_time }),
    answers: flatAnswers(fwd.lead_data),
  }
  return { kind: 'leads', leads: [lead] }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function check<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const res = schema.safeParse(value)
  if (res.success) return res.data
  const issues = res.error.issues.map((i) => `${formatPath(prefix, i.path)} ${i.message}`)
  const shown = issues.slice(0, 5).join('; ')
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''
  throw new TikTokBodyError(`${shown}${more}`, issues)
}

/** ['entry', 0, 'changes', 1, 'field'] → "entry[0].changes[1].field"; odd keys are quoted. */
function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix.replace(/\.$/, '')
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`
    else {
      const key = String(p)
      out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${out ? '.' : ''}${key}` : `[${JSON.stringify(key)}]`
    }
  }
  return out || 'body'
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function describeType(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  return `a ${typeof v}`
}
