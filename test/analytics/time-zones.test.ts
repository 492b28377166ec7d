/**
 * Report days are the ad account's days. TikTok splits spend by stat_time_day in the account's
 * time zone (advertiser/info display_timezone); the analytics counted leads by UTC day, so the
 * spend and the leads of one "day" disagreed (a Los Angeles evening's leads fell on the next UTC
 * day). Now each account's zone is asked once and kept on its connection, and its leads are
 * counted from midnight to midnight there: two accounts of one portal, in Los Angeles (UTC−8/−7)
 * and Ho Chi Minh City (UTC+7, whose `timezone` TikTok gives in the offset form Etc/GMT-7), each
 * get their own day's leads and spend, against the TikTok emulator's reports in those zones.
 */
import t from 'tap'
import { addDays, zonedDay, zonedDayStartMs } from '../../src/analytics/days.js'
import { waitFor } from '../helpers.js'
import { connect, FIELDS, world } from '../tiktok-business/flow.js'

const LA = 'America/Los_Angeles'
const HCM = 'Asia/Ho_Chi_Minh'
const DAY_MS = 86_400_000
const HOUR = 3600_000
const C_LA = '1810000000000201'
const C_HCM = '1810000000000202'
const AD_LA = '1830000000000201'
const AD_HCM = '1830000000000202'
const placeOf = (c: string, ad: string) => ({
  campaign_id: c,
  campaign_name: `Campaign ${c.slice(-3)}`,
  adgroup_id: `182${c.slice(3)}`,
  adgroup_name: 'Group',
  ad_id: ad,
  ad_name: 'Video',
})

interface View {
  timeZone: string
  timeZones: Array<{ advertiserId: string; timeZone: string }>
  spend: { available: boolean; problems: string[] }
  rows: Array<{ id: string | null; leads: number; spend: number | null; costPerLead: number | null }>
}

t.test("each ad account's leads and spend over its own days", async (t) => {
  const w = await world(t)
  const la = w.tt.addAdvertiser({ name: 'LA Ads', timezone: LA })
  const hcm = w.tt.addAdvertiser({ name: 'Saigon Ads', timezone: 'Etc/GMT-7', displayTimezone: HCM })
  const laForm = w.tt.addForm(la.id, { title: 'LA form', fields: FIELDS })
  const hcmForm = w.tt.addForm(hcm.id, { title: 'Saigon form', fields: FIELDS })
  // Los Angeles first: the portal's zone (for leads no connected account claims).
  await connect(w, [la.id])
  await connect(w, [hcm.id])

  // D: yesterday in Los Angeles, over in both zones.
  const D = zonedDay(Date.now() - DAY_MS, LA)
  const laStart = zonedDayStartMs(D, LA)
  const hcmStart = zonedDayStartMs(D, HCM)
  const plan: Array<{ form: string; c: string; ad: string; at: number; inD: boolean }> = [
    { form: laForm.pageId, c: C_LA, ad: AD_LA, at: laStart + HOUR / 2, inD: true },
    // 20:00 and 22:00 in Los Angeles: already the next day in UTC.
    { form: laForm.pageId, c: C_LA, ad: AD_LA, at: laStart + 20 * HOUR, inD: true },
    { form: laForm.pageId, c: C_LA, ad: AD_LA, at: laStart + 22 * HOUR, inD: true },
    // 23:00 the evening before in Los Angeles: UTC day D.
    { form: laForm.pageId, c: C_LA, ad: AD_LA, at: laStart - HOUR, inD: false },
    // 02:00 and 23:00 of D in Ho Chi Minh City (the first is still D−1 in UTC), and 23:30 the day before.
    { form: hcmForm.pageId, c: C_HCM, ad: AD_HCM, at: hcmStart + 2 * HOUR, inD: true },
    { form: hcmForm.pageId, c: C_HCM, ad: AD_HCM, at: hcmStart + 23 * HOUR, inD: true },
    { form: hcmForm.pageId, c: C_HCM, ad: AD_HCM, at: hcmStart - HOUR / 2, inD: false },
  ]
  const ids = plan.map(
    (p, i) => w.tt.submitLead(p.form, { name: `Lead ${i}` }, { campaign: placeOf(p.c, p.ad) }).leadId,
  )
  await waitFor('leads stored', async () => {
    const n = await w.started.app.db
      .selectFrom('leads')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst()
    return Number(n?.n) === plan.length
  })
  for (const [i, id] of ids.entries())
    await w.started.app.db
      .updateTable('leads')
      .set({ received_at: plan[i]!.at })
      .where('tiktok_lead_id', '=', id)
      .execute()
  // Spend at instants: 21:00 of D in Los Angeles (UTC D+1) counts on D there; 22:00 the day before does not.
  w.tt.addAdSpend(la.id, AD_LA, laStart + 21 * HOUR, { spend: 30, impressions: 300, clicks: 3 })
  w.tt.addAdSpend(la.id, AD_LA, laStart - 2 * HOUR, { spend: 7, impressions: 70, clicks: 7 })
  // 01:00 of D in Ho Chi Minh City (UTC D−1) counts on D there; 01:00 of D+1 does not.
  w.tt.addAdSpend(hcm.id, AD_HCM, hcmStart + HOUR, { spend: 50, impressions: 500, clicks: 5 })
  w.tt.addAdSpend(hcm.id, AD_HCM, hcmStart + 25 * HOUR, { spend: 900, impressions: 9, clicks: 9 })

  const infoCalls = () => w.tt.calls.filter((c) => c.path.includes('advertiser/info')).length
  const get = async () => {
    const res = await w.tab.get(`analytics?level=campaign&from=${D}&to=${addDays(D, 1)}`)
    t.equal(res.status, 200)
    return (await res.json()) as View
  }
  const v = await get()
  t.equal(v.timeZone, LA, "the period is in the first connected account's zone")
  t.same(
    v.timeZones,
    [
      { advertiserId: la.id, timeZone: LA },
      { advertiserId: hcm.id, timeZone: HCM },
    ],
    'display_timezone, the zone name, wins over the offset form',
  )
  t.same(v.spend, { available: true, problems: [] })
  t.match(
    v.rows.find((r) => r.id === C_LA),
    { leads: 3, spend: 30, costPerLead: 10 },
    "Los Angeles: D's three leads there (two of them UTC's next day), D's spend there",
  )
  t.match(
    v.rows.find((r) => r.id === C_HCM),
    { leads: 2, spend: 50, costPerLead: 25 },
    "Ho Chi Minh City: D's two leads there (one of them UTC's day before)",
  )
  const reports = w.tt.calls.filter((c) => c.path.includes('report/integrated/get'))
  t.same(
    reports.map((c) => [c.query.advertiser_id, c.query.start_date, c.query.end_date]).sort(),
    [
      [la.id, D, D],
      [hcm.id, D, D],
    ].sort(),
    'each account asked for D, a day of its own zone',
  )
  t.equal(infoCalls(), 2, 'each zone asked once')

  const stored = await w.started.app.db
    .selectFrom('tiktok_connections')
    .select(['advertiser_id', 'time_zone'])
    .orderBy('connected_at')
    .execute()
  t.same(stored, [
    { advertiser_id: la.id, time_zone: LA },
    { advertiser_id: hcm.id, time_zone: HCM },
  ])
  const again = await get()
  t.same(again.rows, v.rows)
  t.equal(infoCalls(), 2, 'kept on the connection: not asked again')

  // The CSV counts the same days.
  const csv = await (await w.tab.get(`analytics.csv?level=campaign&from=${D}&to=${addDays(D, 1)}`)).text()
  t.match(csv, new RegExp(`campaign,${C_LA},[^\\r]*,${la.id},3,`))
  t.match(csv, new RegExp(`campaign,${C_HCM},[^\\r]*,${hcm.id},2,`))
})
