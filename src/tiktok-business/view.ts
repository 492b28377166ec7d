import type { z } from 'zod'
import type { TikTokConnection, TikTokForm } from '../db/schema.js'
import type { MappingConfig } from '../mapping/schemas.js'
import type { TikTokContext } from './context.js'
import { fieldsOf, isWanted, newFieldsOf, unmappedCustom } from './forms.js'
import type { GrantedAdvertiser } from './authorisation.js'
import { tiktokText, type TikTokText } from './status-text.js'
import type { TikTokFormView, TikTokView } from './view-schema.js'

export { TikTokConnectionView, TikTokFormView, TikTokView } from './view-schema.js'

type Lang = 'en' | 'ru' | 'vn'

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

function statusText(t: TikTokText, c: TikTokConnection): string {
  const why = c.status_reason ?? ''
  switch (c.status) {
    case 'token_invalid':
      return t.tokenInvalid(c.advertiser_name)
    case 'subscription_lost':
      return t.subscriptionLost(c.advertiser_name, why)
    case 'error':
      return why === 'lost_access'
        ? t.lostAccess(c.advertiser_name)
        : t.unreachable(c.advertiser_name, why.replace(/^unreachable: /, ''))
    default:
      return why === 'recreated' ? `${t.active} ${t.recreated}` : t.active
  }
}

function formView(conn: TikTokConnection, f: TikTokForm, mapping: MappingConfig): z.infer<typeof TikTokFormView> {
  const unmapped = unmappedCustom(f, mapping)
  return {
    pageId: f.page_id,
    title: f.title,
    status: f.status,
    selected: isWanted(conn, f),
    fields: fieldsOf(f).map((x) => x.name),
    newFields: newFieldsOf(f).filter((n) => unmapped.includes(n)),
    unmappedCustom: unmapped,
    lastBackfill:
      f.last_backfill_at === null
        ? null
        : { at: iso(f.last_backfill_at)!, added: f.last_backfill_added ?? 0, error: f.last_backfill_error },
    testLead: f.test_lead_id && f.test_lead_at ? { at: iso(f.test_lead_at)!, leadId: f.test_lead_id } : null,
  }
}

export async function buildTikTokView(
  ctx: TikTokContext | null,
  memberId: string,
  mapping: MappingConfig,
  lang: Lang,
): Promise<TikTokView> {
  const t = tiktokText(lang)
  if (!ctx) return { configured: false, problems: [t.notConfigured], grant: null, connections: [] }
  const [conns, forms, grant] = await Promise.all([
    ctx.repo.listConnections(memberId),
    ctx.repo.formsOfPortal(memberId),
    ctx.repo.findGrant(memberId, ctx.clock.now()),
  ])
  const connections = conns.map((c) => ({
    advertiserId: c.advertiser_id,
    advertiserName: c.advertiser_name,
    status: c.status,
    statusText: statusText(t, c),
    connectedAt: iso(c.connected_at)!,
    connectedBy: c.connected_by_name,
    lastCheckAt: iso(c.last_check_at),
    allForms: c.all_forms === 1,
    forms: forms.filter((f) => f.advertiser_id === c.advertiser_id).map((f) => formView(c, f, mapping)),
  }))
  let grantView: TikTokView['grant'] = null
  if (grant) {
    const advertisers = JSON.parse(grant.advertisers_json) as GrantedAdvertiser[]
    const owners = new Map(
      (await ctx.repo.ownersOf(advertisers.map((a) => a.advertiserId))).map((o) => [o.advertiser_id, o.member_id]),
    )
    const elsewhere = async (id: string) => {
      const owner = owners.get(id)
      if (!owner || owner === memberId) return null
      return (await ctx.portals.find(owner))?.domain ?? 'another portal'
    }
    grantView = {
      id: grant.id,
      advertisers: await Promise.all(
        advertisers.map(async (a) => ({
          ...a,
          connectedHere: owners.get(a.advertiserId) === memberId,
          connectedElsewhere: await elsewhere(a.advertiserId),
        })),
      ),
    }
  }
  const problems: string[] = []
  for (const c of connections) if (c.status !== 'active') problems.push(c.statusText)
  for (const c of connections) {
    for (const f of c.forms) {
      if (f.newFields.length) problems.push(t.newQuestions(f.title, f.newFields))
      if (f.lastBackfill?.error) problems.push(t.backfillFailed(f.title, f.lastBackfill.error))
    }
  }
  return { configured: true, problems, grant: grantView, connections }
}
