/**
 * Analytics end to end over real HTTP, against the Bitrix24 and TikTok emulators: a lead pushed by
 * TikTok's subscription fills the origin columns; the counts per level cover only the period; the
 * spend comes from report/integrated/get (seeded with tt.setAdStats) with cost per lead computed
 * from it; a second look asks TikTok nothing; a TikTok outage leaves the rows with spend marked
 * unavailable and why; two requests for the same period share one TikTok report; the queries
 * are refused with clear 400s.
 */
import t from 'tap'
import { isStale, TODAY_REFRESH_MS } from '../../src/analytics/spend.js'
import { api, openTab, type Teardown, waitFor } from '../helpers.js'
import type { TikTokEmulator } from '../tiktok-emulator/index.js'
import { connect, type World, world } from '../tiktok-business/flow.js'

const DAY_MS = 86_400_000
const day = (offset: number) => new Date(Date.now() + offset * DAY_MS).toISOString().slice(0, 10)

const C1 = '1810000000000001'
const C2 = '1810000000000002'
const G1 = '1820000000000001'
const G2 = '1820000000000002'
const G3 = '1820000000000003'
const A1 = '1830000000000001'
const A2 = '1830000000000002'
const A3 = '1830000000000003'

const PLACES = {
  a1: {
    campaign_id: C1,
    campaign_name: 'Spring',
    adgroup_id: G1,
    adgroup_name: 'Hanoi',
    ad_id: A1,
    ad_name: 'Video 1',
  },
  a2: { campaign_id: C1, campaign_name: 'Spring', adgroup_id: G2, adgroup_name: 'HCMC', ad_id: A2, ad_name: 'Video 2' },
  a3: {
    campaign_id: C2,
    campaign_name: 'Autumn',
    adgroup_id: G3,
    adgroup_name: 'Da Nang',
    ad_id: A3,
    ad_name: 'Video 3',
  },
}

interface Row {
  id: string | null
  name: string | null
  leads: number
  delivered: number
  contacted: number
  qualified: number
  converted: number
  lost: number
  spend: number | null
  impressions: number | null
  clicks: number | null
  costPerLead: number | null
  costPerQualifiedLead: number | null
  medianFirstContactMs: number | null
}
interface View {
  spend: { available: boolean; problems: string[] }
  rows: Row[]
  totals: Omit<Row, 'id' | 'name' | 'medianFirstContactMs'>
  truncated: boolean
}

const reportCalls = (tt: TikTokEmulator) => tt.calls.filter((c) => c.path.includes('report/integrated/get')).length

/** A connected world with leads submitted on TikTok for the three ads: 3 on A1, 1 on A2, 2 on A3. */
async function leadsWorld(t: Teardown): Promise<World & { ids: Record<string, number[]> }> {
  const w = await world(t)
  await connect(w)
  const ids: Record<string, number[]> = { a1: [], a2: [], a3: [] }
  const plan: Array<keyof typeof PLACES> = ['a1', 'a1', 'a1', 'a2', 'a3', 'a3']
  const tiktokIds = plan.map((k, i) => ({
    k,
    id: w.tt.submitLead(w.form.pageId, { name: `Lead ${i}` }, { campaign: PLACES[k] }).leadId,
  }))
  await waitFor('leads stored', async () => {
    const n = await w.started.app.db
      .selectFrom('leads')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst()
    return Number(n?.n) === plan.length
  })
  for (const { k, id } of tiktokIds) {
    const row = (await w.started.app.leads.findByTikTokId(w.portal.memberId, id))!
    ids[k]!.push(row.id)
  }
  return { ...w, ids }
}

t.test('a lead pushed by TikTok is stored with its ad account, campaign, ad group, ad and form', async (t) => {
  const w = await leadsWorld(t)
  const row = await w.started.app.db
    .selectFrom('leads')
    .selectAll()
    .where('id', '=', w.ids.a2![0]!)
    .executeTakeFirstOrThrow()
  t.match(row, {
    advertiser_id: w.adv.id,
    campaign_id: C1,
    campaign_name: 'Spring',
    adgroup_id: G2,
    adgroup_name: 'HCMC',
    ad_id: A2,
    ad_name: 'Video 2',
    page_id: w.form.pageId,
  })
  t.ok(row.form_name, 'the form name too')
})

t.test('counts per level over [from, to): leads out of the period stay out', async (t) => {
  const w = await leadsWorld(t)
  const db = w.started.app.db
  const now = Date.now()
  // One A1 lead was received three days ago: outside a period that starts yesterday.
  await db
    .updateTable('leads')
    .set({ received_at: now - 3 * DAY_MS })
    .where('id', '=', w.ids.a1![2]!)
    .execute()
  // Outcomes as the offline events would have left them.
  const [a1x, a1y] = w.ids.a1 as [number, number]
  const [a3x, a3y] = w.ids.a3 as [number, number]
  await db
    .updateTable('leads')
    .set({ status: 'delivered', done_at: now - 60_000 })
    .execute()
  await db
    .updateTable('leads')
    .set({ b24_stage_id: 'IN_PROCESS', b24_stage_semantic: 'P', first_contact_at: now - 60_000 + 120_000 })
    .where('id', '=', a1x)
    .execute()
  await db
    .updateTable('leads')
    .set({ b24_stage_id: 'NEW', b24_stage_semantic: 'P', first_contact_at: null })
    .where('id', '=', a1y)
    .execute()
  await db
    .updateTable('leads')
    .set({ b24_stage_id: 'CONVERTED', b24_stage_semantic: 'S', first_contact_at: now - 60_000 + 300_000 })
    .where('id', '=', a3x)
    .execute()
  await db
    .updateTable('leads')
    .set({ b24_stage_id: 'JUNK', b24_stage_semantic: 'F', first_contact_at: now - 60_000 + 500_000 })
    .where('id', '=', a3y)
    .execute()

  const get = async (q: string) => {
    const res = await w.tab.get(`analytics?${q}`)
    t.equal(res.status, 200, q)
    return (await res.json()) as View
  }
  const period = `from=${day(-1)}&to=${day(1)}`
  const byCampaign = await get(`level=campaign&${period}`)
  const c1 = byCampaign.rows.find((r) => r.id === C1)!
  const c2 = byCampaign.rows.find((r) => r.id === C2)!
  t.match(c1, { name: 'Spring', leads: 3, delivered: 3, contacted: 1, qualified: 1, converted: 0, lost: 0 })
  t.equal(c1.medianFirstContactMs, 120_000, 'delivery → first contact')
  t.match(c2, { name: 'Autumn', leads: 2, contacted: 2, qualified: 1, converted: 1, lost: 1 })
  t.equal(c2.medianFirstContactMs, 400_000, 'the median of 300 s and 500 s')
  t.match(byCampaign.totals, { leads: 5, qualified: 2, converted: 1, lost: 1 })

  const byAd = await get(`level=ad&${period}`)
  t.same(
    byAd.rows.map((r) => [r.id, r.leads]),
    [
      [A1, 2],
      [A3, 2],
      [A2, 1],
    ],
    'most leads first, ties by id',
  )
  const byGroup = await get(`level=adgroup&${period}`)
  t.same(byGroup.rows.map((r) => r.name).sort(), ['Da Nang', 'HCMC', 'Hanoi'])
  const byForm = await get(`level=form&${period}`)
  t.same(
    byForm.rows.map((r) => [r.id, r.leads]),
    [[w.form.pageId, 5]],
  )
  t.equal(byForm.spend.available, false, 'no spend per form')
  t.match(byForm.spend.problems.join(' '), /not per form/)

  const wider = await get(`level=campaign&from=${day(-5)}&to=${day(1)}`)
  t.equal(wider.rows.find((r) => r.id === C1)!.leads, 4, 'a wider period takes the older lead in')
  const before = await get(`level=campaign&from=${day(-10)}&to=${day(-5)}`)
  t.same(before.rows, [], 'nothing before the leads')
})

t.test('spend from TikTok: cost per lead and per qualified lead; a second look asks TikTok nothing', async (t) => {
  const w = await leadsWorld(t)
  const db = w.started.app.db
  await db
    .updateTable('leads')
    .set({ b24_stage_id: 'IN_PROCESS', b24_stage_semantic: 'P' })
    .where('id', '=', w.ids.a1![0]!)
    .execute()
  // Yesterday and today on A1 and A2 (campaign C1), today on A3 (C2); a day before the period on A1.
  w.tt.setAdStats(w.adv.id, A1, day(-1), { spend: 10, impressions: 1000, clicks: 20 })
  w.tt.setAdStats(w.adv.id, A1, day(0), { spend: 5.25, impressions: 500, clicks: 5 })
  w.tt.setAdStats(w.adv.id, A2, day(0), { spend: 2.5, impressions: 250, clicks: 1 })
  w.tt.setAdStats(w.adv.id, A3, day(0), { spend: 100, impressions: 4000, clicks: 40 })
  w.tt.setAdStats(w.adv.id, A1, day(-2), { spend: 999, impressions: 1, clicks: 1 })

  const before = reportCalls(w.tt)
  const res = await w.tab.get(`analytics?level=campaign&from=${day(-1)}&to=${day(1)}`)
  t.equal(res.status, 200)
  const v = (await res.json()) as View
  t.same(v.spend, { available: true, problems: [] })
  const c1 = v.rows.find((r) => r.id === C1)!
  t.match(c1, { leads: 4, qualified: 1, spend: 17.75, impressions: 1750, clicks: 26 })
  t.equal(c1.costPerLead, Math.round((17.75 / 4) * 100) / 100, '17.75 / 4 leads')
  t.equal(c1.costPerQualifiedLead, 17.75, 'one qualified lead')
  const c2 = v.rows.find((r) => r.id === C2)!
  t.match(c2, { leads: 2, spend: 100, costPerLead: 50, costPerQualifiedLead: null })
  t.match(v.totals, { leads: 6, spend: 117.75, impressions: 5750, clicks: 66, costPerLead: 19.63 })
  const asked = reportCalls(w.tt) - before
  t.ok(asked >= 1, 'TikTok was asked')
  const call = w.tt.calls.filter((c) => c.path.includes('report/integrated/get')).at(-1)!
  t.match(call.query, {
    report_type: 'BASIC',
    data_level: 'AUCTION_CAMPAIGN',
    dimensions: JSON.stringify(['campaign_id', 'stat_time_day']),
    start_date: day(-1),
    end_date: day(0),
  })

  const again = (await (await w.tab.get(`analytics?level=campaign&from=${day(-1)}&to=${day(1)}`)).json()) as View
  t.equal(reportCalls(w.tt) - before, asked, 'the second look is answered from the cache')
  t.same(again.rows, v.rows)

  // Another level is its own report; ads spent without leads still count in the totals.
  const byAd = (await (await w.tab.get(`analytics?level=ad&from=${day(-1)}&to=${day(1)}`)).json()) as View
  t.same(
    byAd.rows.map((r) => [r.id, r.spend, r.costPerLead]),
    [
      [A1, 15.25, Math.round((15.25 / 3) * 100) / 100],
      [A3, 100, 50],
      [A2, 2.5, 2.5],
    ],
  )
})

t.test('two tabs asking the same period at once: TikTok is asked once', async (t) => {
  const w = await leadsWorld(t)
  w.tt.setAdStats(w.adv.id, A1, day(0), { spend: 5, impressions: 50, clicks: 5 })
  const period = `from=${day(-1)}&to=${day(1)}`
  // The first answer is held at TikTok, so the second request surely comes while it is in flight.
  const hold = w.tt.holdReports()
  const before = reportCalls(w.tt)
  const first = w.tab.get(`analytics?level=ad&${period}`)
  const second = w.tab.get(`analytics?level=ad&${period}`)
  await waitFor('the first report asked', () => hold.waiting >= 1 || null)
  // Time for the second request to reach TikTok too, were it to ask on its own.
  await new Promise((r) => setTimeout(r, 300))
  t.equal(hold.waiting, 1, 'one report in flight')
  hold.release()
  const [a, b] = await Promise.all([first, second])
  t.equal(a.status, 200)
  t.equal(b.status, 200)
  const [va, vb] = [(await a.json()) as View, (await b.json()) as View]
  t.same(va.rows, vb.rows, 'both answers have the spend')
  t.match(
    va.rows.find((r) => r.id === A1),
    { spend: 5 },
  )
  t.equal(reportCalls(w.tt) - before, 1, 'one report/integrated/get for both')

  // Another level is another report, not shared with this one.
  const byCampaign = await w.tab.get(`analytics?level=campaign&${period}`)
  t.equal(byCampaign.status, 200)
  t.equal(reportCalls(w.tt) - before, 2)
})

t.test('a long period is asked of TikTok in runs of at most 30 days', async (t) => {
  const w = await leadsWorld(t)
  const before = reportCalls(w.tt)
  const res = await w.tab.get(`analytics?level=ad&from=${day(-69)}&to=${day(1)}`)
  t.equal(res.status, 200)
  const calls = w.tt.calls.filter((c) => c.path.includes('report/integrated/get')).slice(before)
  t.equal(calls.length, 3, '70 days: 30 + 30 + 10')
  for (const c of calls) {
    const days = (Date.parse(c.query.end_date!) - Date.parse(c.query.start_date!)) / DAY_MS + 1
    t.ok(days <= 30, `${c.query.start_date}..${c.query.end_date}`)
    t.equal(c.code, 0)
  }
})

t.test('a TikTok outage: the rows still answer, spend marked unavailable with the reason', async (t) => {
  const w = await leadsWorld(t)
  w.tt.setAdStats(w.adv.id, A1, day(0), { spend: 5, impressions: 1, clicks: 1 })
  w.tt.faults.outage(503, { endpoint: 'report/integrated/get' })
  const v = (await (await w.tab.get(`analytics?level=campaign&from=${day(-1)}&to=${day(1)}`)).json()) as View
  t.equal(v.spend.available, false)
  t.match(v.spend.problems[0], /Acme Ads.*not available.*TikTok did not give the report.*HTTP 503/)
  t.match(
    v.rows.find((r) => r.id === C1),
    { leads: 4, spend: null, costPerLead: null, impressions: null },
  )
  t.equal(v.totals.spend, null)

  // TikTok back: the next look fetches what the outage missed.
  w.tt.faults.clear()
  const back = (await (await w.tab.get(`analytics?level=campaign&from=${day(-1)}&to=${day(1)}`)).json()) as View
  t.equal(back.spend.available, true)
  t.match(
    back.rows.find((r) => r.id === C1),
    { spend: 5, costPerLead: 1.25 },
  )
})

t.test('no TikTok connection: lead numbers with the reason spend is missing', async (t) => {
  const w = await world(t)
  const res = await w.tab.get(`analytics?level=ad&from=${day(-1)}&to=${day(1)}`)
  t.equal(res.status, 200)
  const v = (await res.json()) as View
  t.same(v.rows, [])
  t.match(v.spend, { available: false, problems: [/no TikTok ad account is connected/] })
})

t.test('clear 400s for a bad query', async (t) => {
  const w = await world(t)
  const cases: Array<[string, RegExp]> = [
    [`level=country&from=${day(-1)}&to=${day(1)}`, /level/],
    [`from=2026-02-30&to=2026-03-02`, /from.*YYYY-MM-DD/],
    [`from=${day(0)}`, /to/],
    [`from=${day(0)}&to=${day(0)}`, /to: must be after from/],
    [`from=2025-01-01&to=2026-01-03`, /at most 366 days/],
  ]
  for (const [q, why] of cases) {
    for (const path of ['analytics', 'analytics.csv']) {
      const res = await w.tab.get(`${path}?${q}`)
      t.equal(res.status, 400, `${path}?${q}`)
      const body = (await res.json()) as { error: string; message: string }
      t.equal(body.error, 'APP_ERR_BAD_REQUEST')
      t.match(body.message, why)
    }
  }
  t.equal((await w.tab.get(`analytics?from=2025-01-01&to=2026-01-02`)).status, 200, '366 days is allowed')
  const anonymous = await api(w.started.url, {}).get(`analytics?from=${day(-1)}&to=${day(1)}`)
  t.equal(anonymous.status, 401, 'no session, no analytics')
  const reader = api(w.started.url, await openTab(w.started.url, w.portal, 2))
  t.equal((await reader.get(`analytics?from=${day(-1)}&to=${day(1)}`)).status, 200, 'read-only users may look')
})

t.test('a stored day is asked again only while its numbers may move', async (t) => {
  const now = Date.parse('2026-03-10T15:00:00Z')
  t.notOk(isStale('2026-03-10', now - TODAY_REFRESH_MS + 1, now), 'today, fetched within 6 h')
  t.ok(isStale('2026-03-10', now - TODAY_REFRESH_MS, now), 'today, fetched 6 h ago')
  t.notOk(isStale('2026-03-09', now - 3600_000, now), 'yesterday, fetched an hour ago')
  t.ok(isStale('2026-03-09', Date.parse('2026-03-09T12:00:00Z'), now), 'yesterday, fetched before it ended, a day ago')
  t.notOk(
    isStale('2026-03-09', Date.parse('2026-03-09T20:00:00Z'), now),
    'yesterday, fetched before it ended, under a day ago',
  )
  t.notOk(isStale('2026-03-01', Date.parse('2026-03-03T00:00:00Z'), now), 'fetched a full day after it ended: final')
  t.notOk(isStale('2026-03-01', Date.parse('2026-03-03T00:00:00Z'), now + 365 * DAY_MS), 'final stays final')
})
