/**
 * BASIC reports over seeded daily ad numbers, over real HTTP: sums per campaign, ad group, ad
 * and advertiser, split by day or not; rates from the sums; every entity of the level when only
 * IDs are asked for, only days with numbers when split by day; the date-range limits (30 days by
 * day, 365 without), paging, attribute metrics, each refusal; the app-wide quota.
 * @see bububa model/report/integrated_get.go, model/report/metrics.go
 */
import t from 'tap'
import { call, connect, fakeClock, startTikTok } from './helpers.js'

const C1 = '1810000000000001'
const C2 = '1810000000000002'
const G1 = '1820000000000001'
const G2 = '1820000000000002'
const G3 = '1820000000000003'
const A1 = '1830000000000001'
const A2 = '1830000000000002'
const A3 = '1830000000000003'

async function setup(t: Parameters<typeof startTikTok>[0], opts: Parameters<typeof startTikTok>[1] = {}) {
  const tt = await startTikTok(t, opts)
  const adv = tt.addAdvertiser({ name: 'Acme' })
  const other = tt.addAdvertiser({ name: 'Other' })
  const names = { campaignName: 'Spring', adName: 'Video 1', adgroupName: 'Moscow' }
  tt.setAdStats(adv.id, A1, '2025-01-01', {
    spend: 10,
    impressions: 1000,
    clicks: 20,
    conversion: 2,
    campaignId: C1,
    adgroupId: G1,
    ...names,
  })
  tt.setAdStats(adv.id, A1, '2025-01-02', { spend: 5.25, impressions: 500, clicks: 5, conversion: 1 })
  tt.setAdStats(adv.id, A2, '2025-01-02', { spend: 2.5, impressions: 250, clicks: 0, campaignId: C1, adgroupId: G2 })
  tt.setAdStats(adv.id, A3, '2025-01-03', {
    spend: 100,
    impressions: 4000,
    clicks: 40,
    conversion: 4,
    campaignId: C2,
    adgroupId: G3,
  })
  tt.setAdStats(adv.id, A3, '2025-02-15', { spend: 999, impressions: 1, clicks: 1, conversion: 1 })
  tt.setAdStats(other.id, '1830000000000009', '2025-01-01', {
    spend: 7,
    impressions: 7,
    clicks: 7,
    campaignId: '1810000000000009',
    adgroupId: '1820000000000009',
  })
  const token = await connect(tt, [adv.id])
  // A parameter set to undefined is left out of the query.
  const report = (q: Record<string, unknown>) => {
    const all = { report_type: 'BASIC', advertiser_id: adv.id, start_date: '2025-01-01', end_date: '2025-01-30', ...q }
    const sent = Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined))
    return call(tt, 'GET', 'report/integrated/get/', sent, { token })
  }
  return { tt, adv, other, token, report }
}

t.test('campaign level: ads add up, rates come from the sums, other advertisers stay out', async (t) => {
  const { report } = await setup(t)
  const res = await report({
    data_level: 'AUCTION_CAMPAIGN',
    dimensions: ['campaign_id'],
    metrics: [
      'spend',
      'impressions',
      'clicks',
      'conversion',
      'ctr',
      'cpc',
      'cpm',
      'cost_per_conversion',
      'conversion_rate',
    ],
  })
  t.equal(res.body.code, 0)
  t.same(res.body.data.list, [
    {
      dimensions: { campaign_id: C1 },
      metrics: {
        spend: '17.75',
        impressions: '1750',
        clicks: '25',
        conversion: '3',
        ctr: '1.43',
        cpc: '0.71',
        cpm: '10.14',
        cost_per_conversion: '5.92',
        conversion_rate: '12.00',
      },
    },
    {
      dimensions: { campaign_id: C2 },
      metrics: {
        spend: '100.00',
        impressions: '4000',
        clicks: '40',
        conversion: '4',
        ctr: '1.00',
        cpc: '2.50',
        cpm: '25.00',
        cost_per_conversion: '25.00',
        conversion_rate: '10.00',
      },
    },
  ])
  t.same(res.body.data.page_info, { page: 1, page_size: 10, total_number: 2, total_page: 1 })
})

t.test('ad group by day: only days with numbers; the range cuts', async (t) => {
  const { report } = await setup(t)
  const res = await report({
    data_level: 'AUCTION_ADGROUP',
    dimensions: ['adgroup_id', 'stat_time_day'],
    metrics: ['spend', 'clicks'],
    start_date: '2025-01-02',
    end_date: '2025-01-03',
  })
  t.same(
    res.body.data.list.map((r: any) => [
      r.dimensions.stat_time_day,
      r.dimensions.adgroup_id,
      r.metrics.spend,
      r.metrics.clicks,
    ]),
    [
      ['2025-01-02 00:00:00', G1, '5.25', '5'],
      ['2025-01-02 00:00:00', G2, '2.50', '0'],
      ['2025-01-03 00:00:00', G3, '100.00', '40'],
    ],
  )
})

t.test('ad level: every ad shows when only IDs are asked for, with zeros; default metrics', async (t) => {
  const { tt, adv, report } = await setup(t)
  tt.addForm(adv.id, { title: 'Quiet form' }) // its ad has no numbers
  const res = await report({
    data_level: 'AUCTION_AD',
    dimensions: ['ad_id'],
    start_date: '2025-01-02',
    end_date: '2025-01-02',
  })
  const rows = res.body.data.list as any[]
  t.equal(rows.length, 4, 'three seeded ads and the form ad')
  t.same(Object.keys(rows[0].metrics), ['spend', 'impressions'], 'metrics default to spend and impressions')
  const byAd = Object.fromEntries(rows.map((r) => [r.dimensions.ad_id, r.metrics]))
  t.same(byAd[A1], { spend: '5.25', impressions: '500' })
  t.same(byAd[A3], { spend: '0.00', impressions: '0' }, 'no numbers that day: zeros')
  t.equal(Object.values(byAd).filter((m: any) => m.spend === '0.00').length, 2)
})

t.test('advertiser level and day-only dimensions: totals', async (t) => {
  const { adv, report } = await setup(t)
  const total = await report({ data_level: 'AUCTION_ADVERTISER', dimensions: ['advertiser_id'], metrics: ['spend'] })
  t.same(total.body.data.list, [{ dimensions: { advertiser_id: adv.id }, metrics: { spend: '117.75' } }])
  const perDay = await report({
    data_level: 'AUCTION_AD',
    dimensions: ['stat_time_day'],
    metrics: ['spend', 'impressions'],
  })
  t.same(
    perDay.body.data.list.map((r: any) => [r.dimensions.stat_time_day, r.metrics.spend, r.metrics.impressions]),
    [
      ['2025-01-01 00:00:00', '10.00', '1000'],
      ['2025-01-02 00:00:00', '7.75', '750'],
      ['2025-01-03 00:00:00', '100.00', '4000'],
    ],
  )
  const lifetime = await report({
    data_level: 'AUCTION_CAMPAIGN',
    dimensions: ['campaign_id'],
    metrics: ['spend'],
    query_lifetime: 'true',
    start_date: undefined,
    end_date: undefined,
  })
  t.same(
    lifetime.body.data.list.map((r: any) => r.metrics.spend),
    ['17.75', '1099.00'],
    'lifetime ignores dates',
  )
})

t.test('attribute metrics by level', async (t) => {
  const { report } = await setup(t)
  const res = await report({
    data_level: 'AUCTION_AD',
    dimensions: ['ad_id'],
    metrics: ['campaign_name', 'campaign_id', 'adgroup_id', 'ad_name', 'advertiser_name'],
  })
  t.same(res.body.data.list[0].metrics, {
    campaign_name: 'Spring',
    campaign_id: C1,
    adgroup_id: G1,
    ad_name: 'Video 1',
    advertiser_name: 'Acme',
  })
  const wrong = await report({ data_level: 'AUCTION_CAMPAIGN', dimensions: ['campaign_id'], metrics: ['ad_name'] })
  t.equal(wrong.body.code, 40002, 'a campaign has no ad_name')
  const noId = await report({ data_level: 'AUCTION_AD', dimensions: ['stat_time_day'], metrics: ['ad_name'] })
  t.equal(noId.body.code, 40002, 'attribute metrics need an ID dimension')
})

t.test('paging', async (t) => {
  const { report } = await setup(t)
  const q = { data_level: 'AUCTION_AD', dimensions: ['ad_id', 'stat_time_day'], metrics: ['spend'], page_size: 2 }
  const first = await report(q)
  t.same(first.body.data.page_info, { page: 1, page_size: 2, total_number: 4, total_page: 2 })
  const second = await report({ ...q, page: 2 })
  t.same(
    second.body.data.list.map((r: any) => r.dimensions.stat_time_day),
    ['2025-01-02 00:00:00', '2025-01-03 00:00:00'],
  )
  t.same((await report({ ...q, page: 3 })).body.data.list, [], 'past the end: empty')
  t.equal((await report({ ...q, page_size: 1001 })).body.code, 40002)
  t.equal((await report({ ...q, page: 0 })).body.code, 40002)
})

t.test('date range limits: 30 days by day, 365 without', async (t) => {
  const { report } = await setup(t)
  const byDay = { data_level: 'AUCTION_CAMPAIGN', dimensions: ['campaign_id', 'stat_time_day'] }
  t.equal((await report({ ...byDay, start_date: '2025-01-01', end_date: '2025-01-30' })).body.code, 0, '30 days')
  const long = await report({ ...byDay, start_date: '2025-01-01', end_date: '2025-01-31' })
  t.equal(long.body.code, 40002, '31 days by day')
  t.match(long.body.message, /30 days/)
  const flat = { data_level: 'AUCTION_CAMPAIGN', dimensions: ['campaign_id'] }
  t.equal((await report({ ...flat, start_date: '2025-01-01', end_date: '2025-12-31' })).body.code, 0, '365 days')
  t.equal((await report({ ...flat, start_date: '2025-01-01', end_date: '2026-01-01' })).body.code, 40002, '366 days')
})

t.test('refusals', async (t) => {
  const { tt, other, report } = await setup(t)
  const ok = { data_level: 'AUCTION_CAMPAIGN', dimensions: ['campaign_id'] }
  const cases: Array<[string, Record<string, unknown>, number]> = [
    ['no data_level', { dimensions: ['campaign_id'] }, 40002],
    ['unknown data_level', { ...ok, data_level: 'AUCTION_THING' }, 40002],
    ['no dimensions', { data_level: 'AUCTION_CAMPAIGN' }, 40002],
    ['dimensions not JSON', { ...ok, dimensions: 'campaign_id' }, 40002],
    ['an ID dimension of another level', { ...ok, dimensions: ['ad_id'] }, 40002],
    ['two ID dimensions', { ...ok, dimensions: ['campaign_id', 'ad_id'] }, 40002],
    ['an unknown dimension', { ...ok, dimensions: ['campaign_id', 'country_code'] }, 40002],
    ['an unknown metric', { ...ok, metrics: ['spend', 'likes'] }, 40002],
    ['another report type', { ...ok, report_type: 'AUDIENCE' }, 40002],
    ['no report_type', { ...ok, report_type: undefined }, 40002],
    ['RESERVATION', { ...ok, service_type: 'RESERVATION' }, 40002],
    ['no dates', { ...ok, start_date: undefined, end_date: undefined }, 40002],
    ['not a date', { ...ok, start_date: '2025-02-30' }, 40002],
    ['a date with time', { ...ok, start_date: '2025-01-01 00:00:00' }, 40002],
    ['end before start', { ...ok, start_date: '2025-01-05', end_date: '2025-01-04' }, 40002],
    ['lifetime split by day', { ...ok, dimensions: ['campaign_id', 'stat_time_day'], query_lifetime: 'true' }, 40002],
    [
      'filtering (not emulated)',
      { ...ok, filtering: [{ field_name: 'campaign_ids', filter_type: 'IN', filter_value: '[]' }] },
      40002,
    ],
    ['an advertiser the token lacks', { ...ok, advertiser_id: other.id }, 40001],
  ]
  for (const [name, q, code] of cases) {
    const res = await report(q)
    t.equal(res.body.code, code, name)
    t.same(res.body.data, {}, `${name}: data is empty`)
  }
  const noToken = await call(tt, 'GET', 'report/integrated/get/', { report_type: 'BASIC', advertiser_id: other.id })
  t.equal(noToken.body.code, 40104)
})

t.test('setAdStats: replaces a day, checks its input', async (t) => {
  const { tt, adv, report } = await setup(t)
  tt.setAdStats(adv.id, A1, '2025-01-01', { spend: 1, impressions: 2, clicks: 3 })
  const res = await report({
    data_level: 'AUCTION_AD',
    dimensions: ['ad_id', 'stat_time_day'],
    metrics: ['spend', 'conversion'],
    end_date: '2025-01-01',
  })
  t.same(res.body.data.list, [
    { dimensions: { ad_id: A1, stat_time_day: '2025-01-01 00:00:00' }, metrics: { spend: '1.00', conversion: '0' } },
  ])
  t.throws(
    () => tt.setAdStats(adv.id, '1839999999999999', '2025-01-01', { spend: 1, impressions: 1, clicks: 1 }),
    /campaignId/,
  )
  t.throws(() => tt.setAdStats(adv.id, A1, '2025-1-1', { spend: 1, impressions: 1, clicks: 1 }), /YYYY-MM-DD/)
  t.throws(() => tt.setAdStats(adv.id, A1, '2025-01-01', { spend: -1, impressions: 1, clicks: 1 }), /≥ 0/)
  t.throws(() => tt.setAdStats('7000', A1, '2025-01-01', { spend: 1, impressions: 1, clicks: 1 }), /unknown advertiser/)
})

t.test('a lead from an ad makes that ad known to reports', async (t) => {
  const { tt, adv, report } = await setup(t)
  const { pageId } = tt.addForm(adv.id, { title: 'Form' })
  const campaign = { campaign_id: '1810000000000077', adgroup_id: '1820000000000077', ad_id: '1830000000000077' }
  tt.submitLead(pageId, { name: 'Ann' }, { campaign })
  tt.setAdStats(adv.id, campaign.ad_id, '2025-01-04', { spend: 3, impressions: 30, clicks: 3 })
  const res = await report({
    data_level: 'AUCTION_CAMPAIGN',
    dimensions: ['campaign_id', 'stat_time_day'],
    metrics: ['spend'],
  })
  t.ok(
    res.body.data.list.some(
      (r: any) => r.dimensions.campaign_id === campaign.campaign_id && r.metrics.spend === '3.00',
    ),
    "the lead's campaign, with no campaignId given to setAdStats",
  )
})

t.test('reports go through the app-wide quota', async (t) => {
  const clock = fakeClock()
  const { tt, report } = await setup(t, { now: clock.now, quota: { perSecond: 2, perMinute: 100 } })
  clock.advance(1000)
  const q = { data_level: 'AUCTION_CAMPAIGN', dimensions: ['campaign_id'] }
  t.equal((await report(q)).body.code, 0)
  t.equal((await report(q)).body.code, 0)
  t.equal((await report(q)).body.code, 40100)
  t.equal(tt.counters.throttled, 1)
})
