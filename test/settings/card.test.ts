/**
 * The card tab end to end (issue 10: "A lead card tab (CRM_LEAD_DETAIL_TAB, deal tab in simple
 * mode) shows that lead's TikTok story"), over real HTTP against both emulators: the emulated
 * portal opens the tab the app bound in a lead's card (detail-tab.ts: the bound handler,
 * PLACEMENT_OPTIONS {"ID": "<id>"}) and the page the app answers carries the story its card view
 * shows: the form and the ad, the answers, the payload, the delivery and the events sent back to
 * TikTok. A Bitrix24 lead made by hand gets the plain "not from TikTok" state, another portal's
 * open of the same id gets nothing of the first portal's, and in simple CRM mode the deal card
 * has the tab instead.
 * @see b24restdocs api-reference/widgets/crm/detail-tab.md
 */
import t from 'tap'
import type { CardView } from '../../src/settings/answers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { api, installedPortal, openTab, startApp, startEmulator, waitFor } from '../helpers.js'
import { moveAndCollect, qualityWorld, tracked } from '../quality/world.js'

const CAMPAIGN = {
  campaign_id: '1790000000000001',
  campaign_name: 'Spring sale',
  adgroup_id: '1790000000000002',
  adgroup_name: 'Hanoi 25-34',
  ad_id: '1790000000000003',
  ad_name: 'Spa video',
}

/** The page a card tab open answers, and the story it carries (#boot's `card`). */
function cardOf(reply: { status: number; body: string }): CardView & { html: string } {
  const json = /<script type="application\/json" id="boot">([\s\S]*?)<\/script>/.exec(reply.body)?.[1]
  if (reply.status !== 200 || !json)
    throw new Error(`the card tab did not open: ${reply.status} ${reply.body.slice(0, 300)}`)
  const boot = JSON.parse(json) as { card?: CardView; session: string; state?: unknown }
  if (!boot.card) throw new Error('the page is not a card page')
  return { ...boot.card, html: reply.body }
}

/** The session a card page carries, for its refresh through the API. */
function sessionOf(html: string): { session: string; csrf: string } {
  const boot = JSON.parse(/<script type="application\/json" id="boot">([\s\S]*?)<\/script>/.exec(html)![1]!)
  return { session: boot.session, csrf: boot.csrf }
}

t.test('a delivered TikTok lead: its card tab shows form, ad, answers, payload, delivery and events', async (t) => {
  const w = await qualityWorld(t)
  const chosen = await w.tab.post('quality', { advertiserId: w.adv.id, eventSetId: w.eventSetId, stageMap: {} })
  t.equal(chosen.status, 200, 'the CRM event set chosen')
  const { leadId } = w.tt.submitLead(
    w.form.pageId,
    { name: 'Nguyen Van An', email: 'an@example.com', phone_number: '+84 91 234 5678', 'Which service?': 'Massage' },
    { campaign: CAMPAIGN },
  )
  const row = await waitFor('the lead delivered', async () => {
    const r = await w.started.app.leads.findByTikTokId(w.portal.memberId, leadId)
    return r?.status === 'delivered' && r.b24_lead_id ? r : null
  })
  const b24Id = row.b24_lead_id!
  await moveAndCollect(w, w.portal, b24Id, 'IN_PROCESS')
  await waitFor('Contacted at TikTok', () => tracked(w).events.length === 1)
  await waitFor('marked sent', async () => {
    const rows = await w.started.app.db.selectFrom('tiktok_event_outbox').select('status').execute()
    return rows.length === 1 && rows[0]?.status === 'sent'
  })

  const reply = await w.emu.openDetailTab(w.portal, { entity: 'lead', id: b24Id })
  t.match(
    reply.headers['content-security-policy'],
    /frame-ancestors/,
    'framed by the portal only, like the settings tab',
  )
  t.equal(reply.headers['cache-control'], 'no-store')
  const card = cardOf(reply)
  t.match(card, { entity: 'lead', b24Id, personal: true })
  t.equal(card.leads.length, 1, 'one TikTok lead went to this lead')
  const lead = card.leads[0]!
  t.match(lead, {
    id: row.id,
    tiktokLeadId: leadId,
    status: 'delivered',
    name: 'Nguyen Van An',
    attempts: 1,
    b24LeadId: b24Id,
    lastError: null,
    form: { id: w.form.pageId, name: 'Spring promo' },
    advertiser: { id: w.adv.id, name: 'Acme Ads' },
    campaign: { id: CAMPAIGN.campaign_id, name: CAMPAIGN.campaign_name },
    adgroup: { id: CAMPAIGN.adgroup_id, name: CAMPAIGN.adgroup_name },
    ad: { id: CAMPAIGN.ad_id, name: CAMPAIGN.ad_name },
    purged: false,
    b24Stage: { id: 'IN_PROCESS' },
  })
  t.ok(lead.receivedAt && lead.doneAt && lead.createdAt, 'received, delivered and sent times')
  t.same(
    lead.answers.find((a) => a.key === 'Which service?'),
    { key: 'Which service?', value: 'Massage' },
    'a custom question as the lead carried it',
  )
  t.ok(
    lead.answers.some((a) => a.key === 'email' && a.value === 'an@example.com'),
    'the standard answers too',
  )
  t.match(lead.tiktokEvents, [{ event: 'Contacted', status: 'sent', error: null }], 'the event sent back to TikTok')
  t.match(
    lead.raw,
    { entry: [{ id: leadId, ad_name: 'Spa video' }] },
    'the payload TikTok pushed, its 19-digit ids exact',
  )

  // The tab's refresh: the same story through the settings API with the page's session.
  const tab = api(w.started.url, sessionOf(card.html))
  const again = (await (await tab.get(`card?entity=lead&id=${b24Id}`)).json()) as CardView
  t.same(again, { entity: card.entity, b24Id: card.b24Id, personal: card.personal, leads: card.leads })

  // A manager (not an administrator) sees the story with the personal data masked, as in the log.
  const manager = cardOf(await w.emu.openDetailTab(w.portal, { entity: 'lead', id: b24Id, userId: 2 }))
  t.equal(manager.personal, false)
  const ml = manager.leads[0]!
  t.match(ml, { tiktokLeadId: leadId, form: { name: 'Spring promo' }, status: 'delivered' })
  t.notMatch(
    manager.html,
    /Nguyen Van An|an@example\.com|Massage|234 5678/,
    'no name, answer or phone in a manager’s page',
  )
  t.ok(
    ml.answers.every((a) => a.value.includes('•') || a.value === '•••'),
    'answers masked',
  )

  // A lead made in Bitrix24 by hand: the plain state, nothing else.
  const admin = w.portal.issueToken(1).access_token
  const own = await fetch(`${w.portal.clientEndpoint}crm.lead.add.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fields: { TITLE: 'Walk-in customer' }, auth: admin }),
  })
  const ownId = Number(((await own.json()) as { result: number }).result)
  const plain = cardOf(await w.emu.openDetailTab(w.portal, { entity: 'lead', id: ownId }))
  t.same(plain.leads, [], 'a lead not from TikTok: no story')
  t.match(plain, { entity: 'lead', b24Id: ownId })

  // Another portal with the app: the same lead id there is another lead; nothing of the first leaks.
  const other = await installedPortal(w.emu, w.started.url)
  let otherId = 0
  while (otherId < b24Id) {
    const made = await fetch(`${other.clientEndpoint}crm.lead.add.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fields: { TITLE: 'Other portal' }, auth: other.issueToken(1).access_token }),
    })
    otherId = Number(((await made.json()) as { result: number }).result)
  }
  const otherPage = await w.emu.openDetailTab(other, { entity: 'lead', id: otherId })
  const otherCard = cardOf(otherPage)
  t.same(otherCard.leads, [], "the other portal's card of that id: no story")
  t.notMatch(
    otherPage.body,
    new RegExp(`${leadId}|Nguyen Van An|Spring promo`),
    'nothing of the first portal in the page',
  )
  const otherTab = api(w.started.url, sessionOf(otherPage.body))
  const asked = (await (await otherTab.get(`card?entity=lead&id=${b24Id}`)).json()) as CardView
  t.same(asked.leads, [], "the other portal's session asking the first portal's id: nothing")
})

t.test('simple CRM mode: the deal card has the tab and shows the story; the lead card has none', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url, { crmMode: 2 })
  const conf = (await app.settings.find(portal.memberId))!
  const sample = sampleLead({ name: 'Tran Thi Binh', extra: { 'Which service?': 'Nails' } })
  await postWebhook(url, conf.webhook_key, notificationBody([sample], { formName: 'Autumn form' }), {
    secret: conf.signing_secret,
  })
  const row = await waitFor('the deal delivered', async () => {
    const r = await app.leads.findByTikTokId(portal.memberId, sample.id)
    return r?.status === 'delivered' && r.b24_lead_id ? r : null
  })
  t.equal(row.b24_entity, 'deal')
  const card = cardOf(await emu.openDetailTab(portal, { entity: 'deal', id: row.b24_lead_id! }))
  t.match(card, { entity: 'deal', b24Id: row.b24_lead_id, personal: true })
  t.match(card.leads, [
    { tiktokLeadId: sample.id, status: 'delivered', name: 'Tran Thi Binh', b24LeadUrl: /\/crm\/deal\/details\// },
  ])
  t.ok(card.leads[0]!.answers.some((a) => a.key === 'Which service?' && a.value === 'Nails'))
  t.same(card.leads[0]!.tiktokEvents, [], 'nothing sent back yet: no TikTok connection')
  await t.rejects(
    emu.openDetailTab(portal, { entity: 'lead', id: row.b24_lead_id! }),
    /bound no handler/,
    'no lead card tab where leads are off',
  )
  // The settings tab still opens from the same handler with its own placement.
  const settings = await openTab(url, portal, 1, { PLACEMENT: 'CRM_DEAL_LIST_MENU' })
  t.ok(settings.boot?.state, 'a list menu open is the settings tab, not a card')
})
