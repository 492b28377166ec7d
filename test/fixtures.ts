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
