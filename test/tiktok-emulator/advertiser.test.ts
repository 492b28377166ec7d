/**
 * Ad account details and report days in the ad account's zone, over real HTTP:
 * - advertiser/info answers the accounts granted to the token, with `timezone` (an offset form or
 *   a zone name) and `display_timezone` (the zone name), every held field without `fields`, only
 *   those asked with it; refusals for a missing or malformed list, an account not granted, a
 *   field not held, no token;
 * - numbers spent at an instant count on that instant's day in the account's zone: the same
 *   instant is one day in Los Angeles and the next in Ho Chi Minh City, and the report's
 *   stat_time_day says so;
 * - holdReports keeps report answers back until released.
 * @see bububa model/advertiser/{info,advertiser}.go, model/report/integrated_get.go
 */
import t from 'tap'
import { call, connect, startTikTok, waitFor } from './helpers.js'

const AD_LA = '1830000000000101'
const AD_HCM = '1830000000000102'
const place = (n: string) => ({ campaignId: `18100000000001${n}`, adgroupId: `18200000000001${n}` })

async function setup(t: Parameters<typeof startTikTok>[0]) {
  const tt = await startTikTok(t)
  const la = tt.addAdvertiser({ name: 'LA Ads', timezone: 'America/Los_Angeles', currency: 'USD' })
  const hcm = tt.addAdvertiser({
    name: 'Saigon Ads',
    timezone: 'Etc/GMT-7',
    displayTimezone: 'Asia/Ho_Chi_Minh',
    currency: 'VND',
  })
  const plain = tt.addAdvertiser({ name: 'Plain' })
  const other = tt.addAdvertiser({ name: 'Not granted' })
  const token = await connect(tt, [la.id, hcm.id, plain.id])
  return { tt, la, hcm, plain, other, token }
}

t.test('advertiser/info: the zones, every held field or the ones asked for', async (t) => {
  const { tt, la, hcm, plain, token } = await setup(t)
  const all = await call(tt, 'GET', 'advertiser/info/', { advertiser_ids: [la.id, hcm.id, plain.id] }, { token })
  t.equal(all.body.code, 0, all.text)
  t.match(all.body.data.list, [
    {
      advertiser_id: la.id,
      name: 'LA Ads',
      timezone: 'America/Los_Angeles',
      display_timezone: 'America/Los_Angeles',
      currency: 'USD',
      status: 'STATUS_ENABLE',
      role: 'ROLE_ADVERTISER',
    },
    {
      advertiser_id: hcm.id,
      name: 'Saigon Ads',
      timezone: 'Etc/GMT-7',
      display_timezone: 'Asia/Ho_Chi_Minh',
      currency: 'VND',
    },
    { advertiser_id: plain.id, timezone: 'Etc/GMT', display_timezone: 'Etc/GMT' },
  ])
  t.type(all.body.data.list[0].create_time, 'number')

  const some = await call(
    tt,
    'GET',
    'advertiser/info/',
    { advertiser_ids: [hcm.id], fields: ['advertiser_id', 'display_timezone'] },
    { token },
  )
  t.same(
    some.body.data.list,
    [{ advertiser_id: hcm.id, display_timezone: 'Asia/Ho_Chi_Minh' }],
    'only the fields asked',
  )
})

t.test('advertiser/info: refusals', async (t) => {
  const { tt, la, other, token } = await setup(t)
  const cases: Array<[string, Record<string, unknown>, number]> = [
    ['no advertiser_ids', {}, 40002],
    ['not a JSON list', { advertiser_ids: la.id }, 40002],
    ['an empty list', { advertiser_ids: [] }, 40002],
    ['an account not granted', { advertiser_ids: [la.id, other.id] }, 40001],
    ['a field not held', { advertiser_ids: [la.id], fields: ['balance'] }, 40002],
    ['an unknown field', { advertiser_ids: [la.id], fields: ['zone'] }, 40002],
  ]
  for (const [name, q, code] of cases) {
    const res = await call(tt, 'GET', 'advertiser/info/', q, { token })
    t.equal(res.body.code, code, name)
    t.same(res.body.data, {}, `${name}: no data`)
  }
  const noToken = await call(tt, 'GET', 'advertiser/info/', { advertiser_ids: [la.id] })
  t.equal(noToken.body.code, 40104, 'no token')
  t.throws(() => tt.addAdvertiser({ name: 'x', timezone: 'Mars/Olympus' }), /unknown time zone/)
})

t.test("spend at an instant counts on the account's own day", async (t) => {
  const { tt, la, hcm, token } = await setup(t)
  // 2025-03-10 22:00 in Los Angeles (PDT, UTC−7) is 2025-03-11 05:00 UTC and 12:00 in Ho Chi Minh City.
  const at = Date.parse('2025-03-11T05:00:00Z')
  tt.addAdSpend(la.id, AD_LA, at, { spend: 30, impressions: 300, clicks: 3, ...place('1') })
  tt.addAdSpend(la.id, AD_LA, at + 60_000, { spend: 1.5, impressions: 10, clicks: 1 })
  tt.addAdSpend(hcm.id, AD_HCM, at, { spend: 700, impressions: 70, clicks: 7, ...place('2') })
  // 2025-03-10 16:59 UTC is 23:59 on the 10th in Ho Chi Minh City.
  tt.addAdSpend(hcm.id, AD_HCM, Date.parse('2025-03-10T16:59:00Z'), { spend: 5, impressions: 5, clicks: 0 })
  const report = (advertiserId: string) =>
    call(
      tt,
      'GET',
      'report/integrated/get/',
      {
        report_type: 'BASIC',
        advertiser_id: advertiserId,
        data_level: 'AUCTION_AD',
        dimensions: ['ad_id', 'stat_time_day'],
        metrics: ['spend', 'impressions', 'clicks'],
        start_date: '2025-03-09',
        end_date: '2025-03-12',
      },
      { token },
    )
  t.same((await report(la.id)).body.data.list, [
    {
      dimensions: { ad_id: AD_LA, stat_time_day: '2025-03-10 00:00:00' },
      metrics: { spend: '31.50', impressions: '310', clicks: '4' },
    },
  ])
  t.same((await report(hcm.id)).body.data.list, [
    {
      dimensions: { ad_id: AD_HCM, stat_time_day: '2025-03-10 00:00:00' },
      metrics: { spend: '5.00', impressions: '5', clicks: '0' },
    },
    {
      dimensions: { ad_id: AD_HCM, stat_time_day: '2025-03-11 00:00:00' },
      metrics: { spend: '700.00', impressions: '70', clicks: '7' },
    },
  ])
})

t.test('holdReports: answers wait until released', async (t) => {
  const { tt, la, token } = await setup(t)
  const hold = tt.holdReports()
  let answered = false
  const pending = call(
    tt,
    'GET',
    'report/integrated/get/',
    {
      report_type: 'BASIC',
      advertiser_id: la.id,
      data_level: 'AUCTION_CAMPAIGN',
      dimensions: ['campaign_id'],
      start_date: '2025-03-09',
      end_date: '2025-03-12',
    },
    { token },
  ).then((r) => {
    answered = true
    return r
  })
  await waitFor(() => hold.waiting === 1)
  await new Promise((r) => setTimeout(r, 50))
  t.notOk(answered, 'held')
  hold.release()
  t.equal((await pending).body.code, 0, 'answered once released')
  t.equal(hold.waiting, 0)
})
