/**
 * GET /api/settings/card and the card tab's page open, at their edges: a session is required (the
 * same guard as every settings API route), the session's portal is the only one answered whatever
 * id is asked, the entity matters (a deal is not the lead with the same id), the query is
 * validated, credentials in a stored payload never reach the answer, a manager gets the story
 * masked, a purged lead says so; the page refuses a card tab naming no record before any REST call
 * and a forged AUTH_ID like the settings tab does.
 * @see b24restdocs api-reference/widgets/crm/detail-tab.md (PLACEMENT_OPTIONS {"ID": "<id>"})
 */
import t from 'tap'
import type { CardView } from '../../src/settings/answers.js'
import { detailTabCode, detailTabOptions } from '../emulator/index.js'
import { storedLead } from '../fixtures.js'
import { api, installedPortal, openTab, startApp, startEmulator, type Teardown } from '../helpers.js'

const NOW = Date.now()

async function world(t: Teardown) {
  const emu = await startEmulator(t)
  // Nothing is delivered: the rows below say what Bitrix24 made of them.
  const started = await startApp(t, { emu, autoStartDelivery: false })
  const a = await installedPortal(emu, started.url)
  const b = await installedPortal(emu, started.url)
  const { app } = started

  /** A TikTok lead delivered to Bitrix24 record `b24Id` of `memberId`. */
  async function delivered(
    memberId: string,
    tiktokLeadId: string,
    b24Id: number,
    opts: { entity?: 'lead' | 'deal'; raw?: string; name?: string } = {},
  ): Promise<number> {
    const lead = storedLead(tiktokLeadId, {
      formName: 'Spring promo',
      advertiserName: 'Acme Ads',
      createdAt: new Date(NOW - 60_000).toISOString(),
      answers: [
        { key: 'name', value: opts.name ?? 'Nguyen Van An' },
        { key: 'phone_number', value: '+84912345678' },
        { key: 'Which service?', value: 'Massage' },
      ],
    })
    await app.leads.insertMany(
      memberId,
      [
        {
          tiktokLeadId,
          format: 'notification',
          isTest: false,
          leadJson: JSON.stringify(lead),
          rawJson: opts.raw ?? JSON.stringify({ id: tiktokLeadId }),
          origin: {
            advertiser_id: '7100000000000000002',
            campaign_id: '1790000000000000003',
            adgroup_id: null,
            ad_id: '1790000000000000005',
            page_id: '7300000000000000001',
            campaign_name: 'Spring campaign',
            adgroup_name: null,
            ad_name: 'Video A',
            form_name: 'Spring promo',
          },
        },
      ],
      { scheme: 'tiktok-signature', valid: true },
    )
    const row = (await app.leads.findByTikTokId(memberId, tiktokLeadId))!
    await app.db
      .updateTable('leads')
      .set({
        status: 'delivered',
        b24_lead_id: b24Id,
        b24_entity: opts.entity ?? 'lead',
        attempts: 1,
        done_at: Date.now(),
      })
      .where('id', '=', row.id)
      .execute()
    return row.id
  }
  return { emu, app, url: started.url, a, b, delivered }
}

t.test('the card API: a session, its own portal only, the right entity, a valid query', async (t) => {
  const { app, url, a, b, delivered } = await world(t)
  const aRow = await delivered(a.memberId, '7500000000000000001', 7, {
    raw: '{"id":7500000000000000001,"access_token":"tt-secret-token","auth":{"client_secret":"cs-1"},"nested":[{"X-Signature":"sig-1"}],"ad_name":"Video A"}',
  })
  await delivered(b.memberId, '7500000000000000002', 7, { name: 'Tran Thi Binh' })
  await delivered(a.memberId, '7500000000000000003', 7, { entity: 'deal', name: 'Le Van Cuong' })
  await app.db
    .insertInto('tiktok_event_outbox')
    .values({
      member_id: a.memberId,
      lead_id: aRow,
      advertiser_id: '7100000000000000002',
      event_set_id: 'es-1',
      event: 'Qualified',
      event_id: '7500000000000000001-Qualified',
      event_time: Math.floor(NOW / 1000),
      status: 'sent',
      next_attempt_at: NOW,
      last_error: null,
      created_at: NOW,
      sent_at: NOW + 1000,
    })
    .execute()

  const none = await fetch(`${url}/api/settings/card?entity=lead&id=7`)
  t.equal(none.status, 401, 'no session: refused')
  t.match(await none.json(), { error: 'APP_ERR_UNAUTHORIZED' })
  const forged = await api(url, { session: 'eyJtIjoieCJ9.forged' }).get('card?entity=lead&id=7')
  t.equal(forged.status, 401, 'a forged session: refused')

  const admin = api(url, await openTab(url, a))
  const res = await admin.get('card?entity=lead&id=7')
  t.equal(res.status, 200)
  t.equal(res.headers.get('cache-control'), 'no-store')
  const card = (await res.json()) as CardView
  t.match(card, { entity: 'lead', b24Id: 7, personal: true })
  t.equal(card.leads.length, 1, "only portal A's lead 7, not B's lead 7 nor A's deal 7")
  const lead = card.leads[0]!
  t.match(lead, {
    tiktokLeadId: '7500000000000000001',
    name: 'Nguyen Van An',
    form: { id: '7300000000000000001', name: 'Spring promo' },
    advertiser: { id: '7100000000000000002', name: 'Acme Ads' },
    campaign: { id: '1790000000000000003', name: 'Spring campaign' },
    adgroup: { id: null, name: null },
    ad: { id: '1790000000000000005', name: 'Video A' },
    tiktokEvents: [{ event: 'Qualified', status: 'sent', at: new Date(NOW + 1000).toISOString(), error: null }],
    purged: false,
  })
  t.same(
    lead.raw,
    {
      id: '7500000000000000001',
      access_token: '[redacted]',
      auth: '[redacted]',
      nested: [{ 'X-Signature': '[redacted]' }],
      ad_name: 'Video A',
    },
    'credentials redacted, the 19-digit id exact',
  )
  t.notMatch(JSON.stringify(card), /tt-secret-token|cs-1|sig-1/, 'no credential anywhere in the answer')

  const deal = (await (await admin.get('card?entity=deal&id=7')).json()) as CardView
  t.match(deal.leads, [{ tiktokLeadId: '7500000000000000003', name: 'Le Van Cuong' }], "A's deal 7 is another record")
  const otherB = (await (await api(url, await openTab(url, b)).get('card?entity=lead&id=7')).json()) as CardView
  t.match(otherB.leads, [{ tiktokLeadId: '7500000000000000002', name: 'Tran Thi Binh' }], "B's session: B's lead 7")
  t.notMatch(JSON.stringify(otherB), /Nguyen Van An|7500000000000000001/, "nothing of A's in B's answer")
  t.same(((await (await admin.get('card?entity=lead&id=8')).json()) as CardView).leads, [], 'no lead 8: empty')

  for (const q of ['entity=contact&id=7', 'entity=lead&id=abc', 'entity=lead&id=0', 'entity=lead'])
    t.equal((await admin.get(`card?${q}`)).status, 400, `${q}: refused`)

  // A manager: the same story, personal data masked, no payload values in clear.
  const manager = (await (await api(url, await openTab(url, a, 2)).get('card?entity=lead&id=7')).json()) as CardView
  t.equal(manager.personal, false)
  t.notMatch(JSON.stringify(manager), /Nguyen Van An|84912345678|Massage/, 'masked for a manager')
  t.match(manager.leads[0], {
    form: { name: 'Spring promo' },
    ad: { name: 'Video A' },
    tiktokLeadId: '7500000000000000001',
    raw: { access_token: '[redacted]', ad_name: /^V•+$/ },
  })

  // The retention purge: no payload, and the answers of a delivered lead go too.
  await app.db
    .updateTable('leads')
    .set({ raw_json: '', lead_json: JSON.stringify(storedLead('7500000000000000001')) })
    .where('id', '=', aRow)
    .execute()
  const purged = ((await (await admin.get('card?entity=lead&id=7')).json()) as CardView).leads[0]!
  t.match(purged, { raw: null, purged: true, answers: [] })
})

t.test('the card page: a tab naming no record is refused before any REST call; a forged user too', async (t) => {
  const { emu, url, a } = await world(t)
  const before = emu.calls.length
  for (const options of ['{}', '{"ID":"x"}', 'not json']) {
    const res = await openTab(url, a, 1, { PLACEMENT: detailTabCode('lead'), PLACEMENT_OPTIONS: options })
    t.equal(res.status, 400, `PLACEMENT_OPTIONS ${options}: refused`)
  }
  t.equal(emu.calls.length, before, 'no REST call spent on them')
  const forged = await openTab(url, a, 1, {
    PLACEMENT: detailTabCode('lead'),
    PLACEMENT_OPTIONS: JSON.stringify(detailTabOptions('lead', 7)),
    AUTH_ID: 'f'.repeat(64),
  })
  t.equal(forged.status, 401, 'a forged AUTH_ID: refused, as on the settings tab')
  t.equal(forged.boot, null, 'no page state')
  const ok = await openTab(url, a, 1, {
    PLACEMENT: detailTabCode('lead'),
    PLACEMENT_OPTIONS: JSON.stringify(detailTabOptions('lead', 7)),
  })
  t.equal(ok.status, 200)
  t.match(ok.headers.get('content-security-policy'), /frame-ancestors .*script-src 'self'/)
  t.match(ok.html, /"card":\{"entity":"lead","b24Id":7,/, 'the card page, with its (empty) story')
})
