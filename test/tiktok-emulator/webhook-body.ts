/**
 * The LEAD notification body, written by hand so that 19-digit ids can go out as bare JSON
 * numbers with every digit (JSON.stringify would need a JS number, which rounds them).
 * @see bububa model/subscription/webhook/{request,lead}.go; reference/tiktok.md §2
 * Implementers report "Ids arrive as JSON NUMBERS on the webhook while every REST endpoint returns
 * them as strings" (reference/tiktok-research.md §2.1), hence `numericIds`.
 */
import { randomBytes } from 'node:crypto'
import type { Advertiser, Form, Lead } from './state.js'

function id(value: string, numeric: boolean): string {
  return numeric && /^[1-9][0-9]*$/.test(value) ? value : JSON.stringify(value)
}

/**
 * `changes`: one per answered question, form order first, then answers to questions the form no
 * longer has. Unanswered questions are left out. [INFERRED] both orderings and the omission.
 */
export function changes(form: Form, lead: Lead): Array<{ field: string; value: string }> {
  const out: Array<{ field: string; value: string }> = []
  const seen = new Set<string>()
  for (const field of form.fields) {
    seen.add(field.name)
    const value = lead.answers[field.name]
    if (value !== undefined && value !== '') out.push({ field: field.name, value })
  }
  for (const [field, value] of Object.entries(lead.answers)) {
    if (!seen.has(field) && value !== '') out.push({ field, value })
  }
  return out
}

function entry(form: Form, advertiser: Advertiser, lead: Lead, numeric: boolean): string {
  const c = lead.campaign
  const parts = [
    `"id":${id(lead.id, numeric)}`,
    `"lead_source":"INSTANT_FORM"`,
    `"page_id":${id(form.pageId, numeric)}`,
    `"page_name":${JSON.stringify(form.title)}`,
    `"advertiser_id":${id(advertiser.id, numeric)}`,
    `"advertiser_name":${JSON.stringify(advertiser.name)}`,
    `"campaign_id":${id(c.campaign_id, numeric)}`,
    `"campaign_name":${JSON.stringify(c.campaign_name)}`,
    `"adgroup_id":${id(c.adgroup_id, numeric)}`,
    `"adgroup_name":${JSON.stringify(c.adgroup_name)}`,
    `"ad_id":${id(c.ad_id, numeric)}`,
    `"ad_name":${JSON.stringify(c.ad_name)}`,
    `"create_time":${lead.createTime}`,
    `"changes":${JSON.stringify(changes(form, lead))}`,
  ]
  return `{${parts.join(',')}}`
}

export interface Notification {
  requestId: string
  leads: Array<{ form: Form; advertiser: Advertiser; lead: Lead }>
}

export function newNotification(leads: Notification['leads']): Notification {
  return { requestId: randomBytes(16).toString('hex').toUpperCase(), leads }
}

/** `time` is when this attempt is sent (unix s), not the lead's time. */
export function notificationBody(n: Notification, timeSec: number, numeric: boolean): string {
  const entries = n.leads.map((l) => entry(l.form, l.advertiser, l.lead, numeric)).join(',')
  return `{"request_id":${JSON.stringify(n.requestId)},"object":1,"time":${timeSec},"entry":[${entries}]}`
}
