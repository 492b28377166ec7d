/**
 * TikTok's official JS SDK (npm tiktok-business-api-sdk-official) against the emulator: the token
 * exchange, the advertiser list and a BASIC report, through the SDK's own request building
 * (superagent, `Access-Token` header, array parameters as JSON text) and its `code` check (a
 * non-zero code becomes the callback's error).
 * @see node_modules/tiktok-business-api-sdk-official/src/{ApiClient.js,api/AuthenticationApi.js,api/ReportingApi.js}
 */
import t from 'tap'
import { APP, startTikTok } from './helpers.js'

type Callback = (error: Error | null, data: any) => void
interface Sdk {
  ApiClient: new () => { basePath: string; timeout: number }
  AuthenticationApi: new (
    client: unknown,
  ) => {
    oauth2AccessToken(opts: { body: Record<string, unknown> }, cb: Callback): unknown
    oauth2AdvertiserGet(appId: string, secret: string, token: string, cb: Callback): unknown
  }
  ReportingApi: new (
    client: unknown,
  ) => {
    reportIntegratedGet(reportType: string, token: string, opts: Record<string, unknown>, cb: Callback): unknown
  }
}

// A computed specifier: the SDK ships no types, and this folder declares none of its own.
const SDK_NAME = 'tiktok-business-api-sdk-official'
const sdk = (await import(SDK_NAME)) as Sdk

function promisify(run: (cb: Callback) => unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    run((error, data) => (error ? reject(error) : resolve(data)))
  })
}

t.test('official SDK: access token, advertisers, report', async (t) => {
  const tt = await startTikTok(t)
  const adv = tt.addAdvertiser({ id: '7000000000000000042', name: 'Acme' })
  tt.addForm(adv.id, { title: 'Spring' })
  const place = { campaignId: '1800000000000001', adgroupId: '1800000000000002' }
  for (const [i, date] of ['2025-01-01', '2025-01-02', '2025-01-03'].entries())
    tt.setAdStats(adv.id, '1800000000000003', date, {
      spend: 10.5 + i,
      impressions: 1000 * (i + 1),
      clicks: 7,
      ...place,
    })
  const { authCode } = await tt.approve({ state: 'sdk', redirectUri: 'https://crm.example.com/tiktok/callback' })

  const client = new sdk.ApiClient()
  client.basePath = tt.url
  const auth = new sdk.AuthenticationApi(client)
  const token = await promisify((cb) =>
    auth.oauth2AccessToken({ body: { app_id: APP.appId, secret: APP.appSecret, auth_code: authCode } }, cb),
  )
  t.match(token.data, { access_token: /^[0-9a-f]{40}$/, advertiser_ids: [adv.id], token_type: 'Bearer' })
  const accessToken = token.data.access_token as string

  await t.rejects(
    promisify((cb) =>
      auth.oauth2AccessToken({ body: { app_id: APP.appId, secret: APP.appSecret, auth_code: authCode } }, cb),
    ),
    { message: /code: 40110/ },
    'a reused code surfaces as the SDK error',
  )

  const advertisers = await promisify((cb) => auth.oauth2AdvertiserGet(APP.appId, APP.appSecret, accessToken, cb))
  t.same(advertisers.data.list, [{ advertiser_id: adv.id, advertiser_name: 'Acme' }])
  await t.rejects(
    promisify((cb) => auth.oauth2AdvertiserGet(APP.appId, APP.appSecret, 'nope', cb)),
    { message: /code: 40105/ },
  )

  const reporting = new sdk.ReportingApi(client)
  const report = await promisify((cb) =>
    reporting.reportIntegratedGet(
      'BASIC',
      accessToken,
      {
        advertiser_id: adv.id,
        data_level: 'AUCTION_CAMPAIGN',
        dimensions: ['campaign_id', 'stat_time_day'],
        metrics: ['spend', 'impressions'],
        start_date: '2025-01-01',
        end_date: '2025-01-03',
        page: 1,
        page_size: 10,
      },
      cb,
    ),
  )
  t.same(report.data.page_info, { page: 1, page_size: 10, total_number: 3, total_page: 1 })
  t.same(report.data.list[0], {
    dimensions: { campaign_id: place.campaignId, stat_time_day: '2025-01-01 00:00:00' },
    metrics: { spend: '10.50', impressions: '1000' },
  })
  t.same(
    report.data.list.map((r: any) => r.metrics.spend),
    ['10.50', '11.50', '12.50'],
    'one row per day, from the seeded numbers',
  )
  await t.rejects(
    promisify((cb) =>
      reporting.reportIntegratedGet('BASIC', accessToken, { advertiser_id: adv.id, dimensions: ['stat_time_day'] }, cb),
    ),
    { message: /code: 40002/ },
    'dates are required',
  )
})
