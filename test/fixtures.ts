import type { NewPortal } from '../src/db/schema.js'
import type { IncomingLead } from '../src/db/repositories/lead-inserts.js'
import type { NormalizedLead } from '../src/tiktok/schemas.js'
import { signTikTokSignature } from '../src/tiktok/verify.js'

export interface SampleLead {
  id: string
  name?: string
  phone?: string
  email?: string
  extra?: Record<string, string>
}

let seq = 0
/** A 19-digit TikTok-style lead id, unique within the test process. */
export function leadId(): string {
  seq += 1
  return `72${String(Date.now()).slice(-8)}${String(process.pid % 1000).padStart(3, '0')}${String(seq).padStart(6, '0')}`
}

export function sampleLead(overrides: Partial<SampleLead> = {}): SampleLead {
  return { id: leadId(), name: 'Nguyen Van An', phone: '0912345678', email: 'an@example.com', ...overrides }
}

/** TikTok's lead notification body, with ids as bare JSON numbers like TikTok sends them. */
export function notificationBody(leads: SampleLead[], opts: { formName?: string; object?: number } = {}): string {
  const entries = leads.map((l) => {
    const changes = [
      ...(l.name ? [{ field: 'name', value: l.name }] : []),
      ...(l.phone ? [{ field: 'phone_number', value: l.phone }] : []),
      ...(l.email ? [{ field: 'email', value: l.email }] : []),
      ...Object.entries(l.extra ?? {}).map(([field, value]) => ({ field, value })),
    ]
    return `{"id":${l.id},"lead_source":"INSTANT_FORM","page_id":7300000000000000001,"page_name":"Spring promo","form_name":"${opts.formName ?? 'Spring promo form'}","advertiser_id":7100000000000000002,"campaign_id":1790000000000000003,"campaign_name":"Spring campaign","adgroup_id":1790000000000000004,"adgroup_name":"HCMC 25-34","ad_id":1790000000000000005,"ad_name":"Video A","create_time":1764000000,"changes":${JSON.stringify(changes)}}`
  })
  return `{"request_id":"req-${leadId()}","object":${opts.object ?? 1},"time":${Math.floor(Date.now() / 1000)},"entry":[${entries.join(',')}]}`
}

export async function postWebhook(
  appUrl: string,
  key: string,
  body: string,
  sign: { secret: string; t?: number } | { header: Record<string, string> } | null,
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (sign && 'secret' in sign)
    headers['TikTok-Signature'] = signTikTokSignature(sign.secret, body, sign.t ?? Math.floor(Date.now() / 1000))
  if (sign && 'header' in sign) Object.assign(headers, sign.header)
  return fetch(`${appUrl}/tiktok/webhook/${key}`, { method: 'POST', headers, body })
}

/** The lead id of the research's assembled sample notification (tiktok-research.md §2.1). */
export const RESEARCH_LEAD_ID = '7489000000000000001'

/**
 * The ad metadata of that sample, as TikTok names it in a notification entry: advertiser, form
 * (page), campaign, ad group, ad, and when the lead was made.
 */
export const RESEARCH_LEAD_META = {
  advertiser_id: '7000000000000000000',
  advertiser_name: 'Acme LLC',
  page_id: '7480000000000000000',
  page_name: 'Spring promo form',
  campaign_id: '1820000000000001',
  campaign_name: 'Leads RU spring',
  adgroup_id: '1820000000000002',
  adgroup_name: 'Moscow 25-45',
  ad_id: '1820000000000003',
  ad_name: 'Video A',
  create_time: 1743639757,
}

/**
 * A normalized lead as the app stores it in lead_json, with no ad metadata (every id and name
 * null). `format` is any text: a test may store one the intake does not write today ('push').
 */
type StoredLead = Omit<NormalizedLead, 'format'> & { format: string }
export function storedLead(leadId: string, over: Partial<StoredLead> = {}): StoredLead {
  return {
    leadId,
    format: 'notification',
    createdAt: null,
    formId: null,
    formName: null,
    pageId: null,
    pageName: null,
    advertiserId: null,
    advertiserName: null,
    campaignId: null,
    campaignName: null,
    adgroupId: null,
    adgroupName: null,
    adId: null,
    adName: null,
    answers: [],
    ...over,
  }
}

/** The sample lead's answers as stored: a name and a phone already in E.164. */
export const STORED_ANSWERS = [
  { key: 'name', value: 'Nguyen Van An' },
  { key: 'phone_number', value: '+84912345678' },
]

/** What `portals.upsertInstalled` takes for a portal installed with placeholder tokens. */
export function installedPortalRow(memberId = 'm1', domain = 'x.bitrix24.com') {
  return {
    member_id: memberId,
    domain,
    client_endpoint: `https://${domain}/rest/`,
    server_endpoint: 'https://oauth.bitrix.info/rest/',
    access_token: 'a',
    refresh_token: 'r',
    expires_at: 0,
    scope: 'crm',
    app_status: 'L',
    lang: 'en',
    installer_user_id: 1,
  }
}

/** A whole `portals` row for a repository test that inserts it directly (placeholder values). */
export function portalTableRow(memberId: string): NewPortal {
  return {
    member_id: memberId,
    domain: 'x',
    client_endpoint: 'https://x/rest/',
    server_endpoint: 'https://o/rest/',
    access_token: 'a',
    refresh_token: 'r',
    expires_at: 0,
    scope: '',
    app_status: 'L',
    lang: 'en',
    installer_user_id: 1,
    application_token: 't',
    state: 'active',
    state_reason: null,
    installed_at: '',
    updated_at: '',
    uninstalled_at: null,
  }
}

/** A lead as the intake hands it to `leads.insertMany`, with empty JSON. */
export function incomingLead(id: string): IncomingLead {
  return { tiktokLeadId: id, format: 'notification', isTest: false, leadJson: '{}', rawJson: '{}' }
}
