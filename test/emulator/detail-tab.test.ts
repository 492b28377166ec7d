/**
 * A CRM card's tab as the portal opens it (openDetailTab), seen from a stand-in app:
 * - the tab is where the app bound it (placement.bind CRM_LEAD_DETAIL_TAB / CRM_DEAL_DETAIL_TAB,
 *   listed by placement.get) and shows only once the install is finished;
 * - the handler gets the placement POST with PLACEMENT the tab's code and PLACEMENT_OPTIONS the
 *   JSON string {"ID": "<id as a string>", "URI": "/crm/<entity>/details/<id>/?…IFRAME=Y…"};
 *   no separate type key: the code says which card;
 * - the AUTH_ID is the opening user's; a card that does not exist opens nothing.
 * @see api-reference/widgets/crm/detail-tab.md ("What the Handler Receives", PLACEMENT_OPTIONS,
 *   "The widget is not displayed in the interface until the application installation is complete")
 * @see api-reference/widgets/placement-bind.md, placement-get.md
 */
import t from 'tap'
import { detailTabCode, detailTabOptions } from './index.js'
import { callJson, startEmulator, startReceiver } from './helpers.js'

t.test('a lead card tab and a deal card tab open the way a portal opens them', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal({ lang: 'ru' })
  const app = await startReceiver(t)
  await emu.installApp(portal, { installUrl: `${app.url}/install`, finish: false })
  const admin = portal.issueToken(1).access_token
  const bind = (PLACEMENT: string) =>
    callJson(portal, 'placement.bind', { PLACEMENT, HANDLER: `${app.url}/tab`, TITLE: 'TikTok' }, admin)
  t.match((await bind('CRM_LEAD_DETAIL_TAB')).body, { result: true })
  const lead = await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'From a form' } }, admin)
  const leadId = Number(lead.body.result)

  await t.rejects(
    emu.openDetailTab(portal, { entity: 'lead', id: leadId }),
    /not installed/,
    'no tab before installFinish()',
  )
  await emu.finishInstall(portal)

  const reply = await emu.openDetailTab(portal, { entity: 'lead', id: leadId, userId: 2 })
  t.equal(reply.status, 200)
  const tab = await app.waitFor((r) => r.path === '/tab')
  t.match(tab.query, { DOMAIN: portal.domain, PROTOCOL: '0', LANG: 'ru', APP_SID: /^[0-9a-f]{32}$/ })
  t.match(tab.form, { PLACEMENT: 'CRM_LEAD_DETAIL_TAB', member_id: portal.memberId, AUTH_ID: /^[0-9a-f]{64,}$/ })
  const options = JSON.parse(String(tab.form['PLACEMENT_OPTIONS']))
  t.same(Object.keys(options).sort(), ['ID', 'URI'], 'the id and the URI, no type key')
  t.equal(options.ID, String(leadId), 'the id is a string')
  t.equal(options.URI, `/crm/lead/details/${leadId}/?any=details%2F${leadId}%2F&IFRAME=Y&IFRAME_TYPE=SIDE_SLIDER`)
  t.same(options, detailTabOptions('lead', leadId))
  const who = await callJson(portal, 'profile', {}, String(tab.form['AUTH_ID']))
  t.match(who.body.result, { ID: '2' }, "the token is the opening user's")

  await t.rejects(emu.openDetailTab(portal, { entity: 'lead', id: leadId + 1000 }), /no lead/, 'no such card')
  const deal = await callJson(portal, 'crm.deal.add', { fields: { TITLE: 'A deal' } }, admin)
  const dealId = Number(deal.body.result)
  await t.rejects(
    emu.openDetailTab(portal, { entity: 'deal', id: dealId }),
    /bound no handler/,
    'the deal card has no tab of the app until it binds one',
  )
  t.match((await bind(detailTabCode('deal'))).body, { result: true })
  const listed = await callJson(portal, 'placement.get', {}, admin)
  t.same(
    listed.body.result.map((p: { placement: string }) => p.placement).sort(),
    ['CRM_DEAL_DETAIL_TAB', 'CRM_LEAD_DETAIL_TAB'],
    'placement.get lists both tabs',
  )
  await emu.openDetailTab(portal, { entity: 'deal', id: dealId })
  const dealTab = await app.waitFor((r) => r.path === '/tab' && r.form['PLACEMENT'] === 'CRM_DEAL_DETAIL_TAB')
  t.same(JSON.parse(String(dealTab.form['PLACEMENT_OPTIONS'])), detailTabOptions('deal', dealId))
  t.match(
    emu.deliveries.filter((d) => d.kind === 'placement' && d.memberId === portal.memberId),
    [{ status: 200 }, { status: 200 }],
    'both opens are recorded as placement POSTs',
  )
})
