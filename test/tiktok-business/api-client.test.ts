import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { TikTokApiError } from '../../src/errors.js'
import { type ApiLog, createTikTokApi, type TikTokApi } from '../../src/tiktok-business/api-client.js'
import { classify } from '../../src/tiktok-business/return-codes.js'
import { readLeadExport } from '../../src/tiktok-business/lead-export.js'
import { createTikTokLimiter, type TikTokLimiterOptions } from '../../src/tiktok-business/limiter.js'
import { buildTikTokEmulator, type TikTokEmulator } from '../tiktok-emulator/index.js'

const APP = { appId: 'tt-app-client', appSecret: 'tt-secret-client-0123456789' }
const REDIRECT = 'https://crm.example.com/tiktok/callback'

interface Setup {
  tt: TikTokEmulator
  api: TikTokApi
  logs: Array<{ obj: object; msg: string }>
}

type TapTest = Parameters<
  Parameters<typeof t.test>[0] extends infer F ? (F extends (t: infer T) => unknown ? (t: T) => void : never) : never
>[0]

async function setup(
  t: TapTest,
  opts: {
    quota?: { perSecond: number; perMinute: number }
    limiter?: TikTokLimiterOptions
    taskDelayMs?: number
    zipThresholdBytes?: number
    attempts?: number
  } = {},
): Promise<Setup> {
  const tt = await buildTikTokEmulator({
    ...APP,
    quota: opts.quota ?? { perSecond: 10_000, perMinute: 100_000 },
    taskDelayMs: opts.taskDelayMs ?? 0,
    ...(opts.zipThresholdBytes !== undefined ? { zipThresholdBytes: opts.zipThresholdBytes } : {}),
  })
  await tt.listen(0)
  tt.addRedirectUri(REDIRECT)
  const limiter = createTikTokLimiter(opts.limiter ?? { perSecond: 1000, perMinute: 100_000 })
  t.teardown(async () => {
    limiter.close()
    await tt.close()
  })
  const logs: Setup['logs'] = []
  const log: ApiLog = {
    debug: (obj, msg) => logs.push({ obj, msg }),
    warn: (obj, msg) => logs.push({ obj, msg }),
  }
  const api = createTikTokApi({
    apiUrl: tt.url,
    ...APP,
    timeoutMs: 5000,
    limiter,
    log,
    retry: { attempts: opts.attempts ?? 8, baseMs: 50, maxMs: 400 },
  })
  return { tt, api, logs }
}

async function connect(s: Setup) {
  const adv = s.tt.addAdvertiser({ name: 'Acme' })
  const { authCode } = await s.tt.approve({ state: 'st', redirectUri: REDIRECT })
  const token = await s.api.exchangeAuthCode(authCode)
  return { advertiserId: adv.id, ...token }
}

t.test('OAuth: exchange (SDK), advertisers (SDK), revoke; the paths end with a slash', async (t) => {
  const s = await setup(t)
  const other = s.tt.addAdvertiser({ name: 'Beta' })
  const { advertiserId, accessToken, advertiserIds, scope } = await connect(s)
  t.ok(accessToken.length > 10)
  t.same(advertiserIds.sort(), [advertiserId, other.id].sort())
  t.ok(scope.length > 0 && scope.every((n) => typeof n === 'number'))

  const advertisers = await s.api.listAdvertisers(accessToken)
  t.same(advertisers.map((a) => a.advertiserName).sort(), ['Acme', 'Beta'])
  t.ok(
    advertisers.every((a) => /^\d{19}$/.test(a.advertiserId)),
    '19-digit ids intact',
  )

  await s.api.revokeToken(accessToken)
  const err = await s.api.listAdvertisers(accessToken).catch((e: unknown) => e)
  t.type(err, TikTokApiError)
  t.match(err, { kind: 'token_invalid', code: 40105, endpoint: 'oauth2/advertiser/get' })

  for (const c of s.tt.calls) t.match(c.path, /^\/open_api\/v1\.3\/.+\/$/, `${c.method} ${c.path}`)
  t.same(
    s.tt.calls.map((c) => c.path),
    [
      '/open_api/v1.3/oauth2/access_token/',
      '/open_api/v1.3/oauth2/advertiser/get/',
      '/open_api/v1.3/oauth2/revoke_token/',
      '/open_api/v1.3/oauth2/advertiser/get/',
    ],
  )
})

t.test('a used auth code is a bad_request; no secret or token in errors or logs', async (t) => {
  const s = await setup(t)
  s.tt.addAdvertiser({ name: 'Acme' })
  const { authCode } = await s.tt.approve({ state: 'st', redirectUri: REDIRECT })
  const { accessToken } = await s.api.exchangeAuthCode(authCode)
  const err = await s.api.exchangeAuthCode(authCode).catch((e: unknown) => e)
  t.match(err, { kind: 'bad_request', code: 40110, endpoint: 'oauth2/access_token' })
  const revoked = await s.api.revokeToken('not-a-token-xyz').catch((e: unknown) => e)
  t.match(revoked, { kind: 'token_invalid' })
  const everything = JSON.stringify([String(err), String(revoked), (err as Error).stack, s.logs])
  for (const secret of [APP.appSecret, authCode, accessToken, 'not-a-token-xyz']) {
    t.notOk(everything.includes(secret), 'no secret in errors or logs')
  }
})

t.test('forms (every page), fields, test leads', async (t) => {
  const s = await setup(t)
  const { advertiserId, accessToken } = await connect(s)
  const made: string[] = []
  for (let i = 0; i < 103; i++) made.push(s.tt.addForm(advertiserId, { title: `Form ${i}` }).pageId)
  const forms = await s.api.listForms(accessToken, advertiserId)
  t.equal(forms.length, 103, 'two pages of 100 followed')
  t.same(forms.map((f) => f.pageId).sort(), [...made].sort())
  t.ok(forms.every((f) => /^\d{19}$/.test(f.pageId) && f.title.startsWith('Form ') && f.status !== ''))
  const pageGets = s.tt.calls.filter((c) => c.path.endsWith('/page/get/'))
  t.same(
    pageGets.map((c) => [c.query['page'], c.query['page_size'], c.query['business_type']]),
    [
      ['1', '100', 'LEAD_GEN'],
      ['2', '100', 'LEAD_GEN'],
    ],
  )

  const pageId = made[0] as string
  s.tt.setFormFields(pageId, [
    { name: 'name' },
    { name: 'email', type: 'EMAIL' },
    { name: 'Which service?', type: 'SINGLE_CHOICE', options: ['A', 'B'] },
  ])
  const fields = await s.api.formFields(accessToken, advertiserId, pageId)
  t.same(
    fields.map((f) => f.name),
    ['name', 'email', 'Which service?'],
  )

  t.equal(await s.api.getMockLead(accessToken, advertiserId, pageId), null, 'no test lead yet')
  const { leadId } = await s.api.createMockLead(accessToken, advertiserId, pageId)
  t.match(leadId, /^\d{19}$/)
  t.same(await s.api.getMockLead(accessToken, advertiserId, pageId), { leadId })
  const again = await s.api.createMockLead(accessToken, advertiserId, pageId).catch((e: unknown) => e)
  t.match(again, { kind: 'bad_request' }, 'one test lead per form')
  await s.api.deleteMockLead(accessToken, advertiserId, pageId, leadId)
  t.equal(await s.api.getMockLead(accessToken, advertiserId, pageId), null)
})

t.test('subscriptions: subscribe, list (paged), unsubscribe; the token goes in Access-Token', async (t) => {
  const s = await setup(t)
  const { advertiserId, accessToken } = await connect(s)
  const { pageId } = s.tt.addForm(advertiserId, { title: 'Spring' })
  const a = await s.api.subscribe({
    accessToken,
    advertiserId,
    pageId: null,
    callbackUrl: 'https://app.example.com/tiktok/webhook/k1',
  })
  const b = await s.api.subscribe({
    accessToken,
    advertiserId,
    pageId,
    callbackUrl: 'https://app.example.com/tiktok/webhook/k2',
  })
  const subs = await s.api.listSubscriptions()
  t.same(
    subs.sort((x, y) => x.callbackUrl.localeCompare(y.callbackUrl)),
    [
      { subscriptionId: a, callbackUrl: 'https://app.example.com/tiktok/webhook/k1', advertiserId, pageId: null },
      { subscriptionId: b, callbackUrl: 'https://app.example.com/tiktok/webhook/k2', advertiserId, pageId },
    ],
  )
  const sub = s.tt.calls.find((c) => c.path.endsWith('/subscription/subscribe/'))
  t.match(sub?.body, {
    subscribe_entity: 'LEAD',
    subscription_detail: { lead_source: 'INSTANT_FORM', advertiser_id: advertiserId },
  })
  t.match(s.tt.calls.find((c) => c.path.endsWith('/subscription/get/'))?.query, {
    subscribe_entity: 'LEAD',
    page_size: '1000',
  })
  await s.api.unsubscribe(a)
  t.same(
    (await s.api.listSubscriptions()).map((x) => x.subscriptionId),
    [b],
  )
  // The emulator reads the token only from Access-Token (Authorization: Bearer alone is 40104), so
  // the token-bearing calls above succeeding shows the header; this shows the client's side.
  const seen: Array<Record<string, unknown>> = []
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url, ...req.headers })
    res.setHeader('content-type', 'application/json')
    res.end('{"code":0,"message":"OK","data":{"list":[],"page_info":{"total_page":1}}}')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => server.close())
  const limiter = createTikTokLimiter()
  t.teardown(() => limiter.close())
  const local = createTikTokApi({
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ...APP,
    timeoutMs: 2000,
    limiter,
  })
  await local.listForms('tok-123456', '1')
  t.equal(seen[0]?.['access-token'], 'tok-123456')
  t.notOk(seen[0]?.['authorization'], 'no Authorization header')
  t.match(seen[0]?.['url'], /^\/open_api\/v1\.3\/page\/get\/\?/)

  s.tt.revokeAdvertiserAccess(advertiserId)
  const err = await s.api.listForms(accessToken, advertiserId).catch((e: unknown) => e)
  t.match(err, { kind: 'token_invalid', endpoint: 'page/get' })
})

t.test('lead download: task, poll, download, parse', async (t) => {
  const s = await setup(t, { taskDelayMs: 0 })
  const { advertiserId, accessToken } = await connect(s)
  const { pageId } = s.tt.addForm(advertiserId, { title: 'Spring', fields: [{ name: 'name' }, { name: 'email' }] })
  const ids = [
    s.tt.submitLead(pageId, { name: 'Ann, "A"', email: 'a@example.com' }).leadId,
    s.tt.submitLead(pageId, { name: 'Bob', email: 'b@example.com' }).leadId,
  ]
  const taskId = await s.api.startLeadTask(accessToken, advertiserId, pageId)
  const polled = await s.api.pollLeadTask(accessToken, advertiserId, pageId, taskId)
  t.same(polled, { status: 'SUCCEED', fileType: 'csv' })
  const file = await s.api.downloadLeadTask(accessToken, advertiserId, taskId)
  t.equal(file.fileType, 'csv')
  const leads = []
  for await (const l of readLeadExport(file.body, file.fileType, { advertiserId, pageId, pageName: 'Spring' }))
    leads.push(l)
  t.same(leads.map((l) => l.leadId).sort(), [...ids].sort())
  t.same(leads.find((l) => l.leadId === ids[0])?.answers, [
    { key: 'name', value: 'Ann, "A"' },
    { key: 'email', value: 'a@example.com' },
  ])
  const missing = await s.api
    .downloadLeadTask(accessToken, advertiserId, '7600000000000000000')
    .catch((e: unknown) => e)
  t.match(missing, { kind: 'bad_request', code: 40905 }, 'a JSON answer to a download is an error')
})

t.test('lead download as zip (over the size threshold), with a task that takes a while', async (t) => {
  const s = await setup(t, { zipThresholdBytes: 10, taskDelayMs: 300 })
  const { advertiserId, accessToken } = await connect(s)
  const { pageId } = s.tt.addForm(advertiserId, { title: 'Zip form', fields: [{ name: 'name' }] })
  const ids = Array.from({ length: 50 }, (_, i) => s.tt.submitLead(pageId, { name: `Lead ${i}` }).leadId)
  const taskId = await s.api.startLeadTask(accessToken, advertiserId, pageId)
  let polled = await s.api.pollLeadTask(accessToken, advertiserId, pageId, taskId)
  t.not(polled.status, 'SUCCEED', 'not ready at once')
  t.equal(polled.fileType, null)
  while (polled.status !== 'SUCCEED') {
    await new Promise((r) => setTimeout(r, 100))
    polled = await s.api.pollLeadTask(accessToken, advertiserId, pageId, taskId)
  }
  t.equal(polled.fileType, 'zip')
  const file = await s.api.downloadLeadTask(accessToken, advertiserId, taskId)
  t.equal(file.fileType, 'zip')
  const got: string[] = []
  for await (const l of readLeadExport(file.body, file.fileType, { advertiserId, pageId, pageName: 'Zip form' }))
    got.push(l.leadId)
  t.same(got.sort(), [...ids].sort())
})

t.test('a small quota: 40100 is retried until it succeeds, and the limiter keeps within it', async (t) => {
  // The emulator allows 3/s; a limiter set to the same quota never trips it. The emulator counts
  // at arrival, and on a loaded test machine a request can take well over 50 ms (the default
  // margin) to arrive, so this limiter gets a wider one.
  const paced = await setup(t, {
    quota: { perSecond: 3, perMinute: 100 },
    limiter: { perSecond: 3, perMinute: 100, marginMs: 300 },
  })
  const c = await connect(paced)
  await Promise.all(Array.from({ length: 9 }, () => paced.api.listAdvertisers(c.accessToken)))
  t.equal(paced.tt.counters.throttled, 0, 'a matching limiter never trips the quota')

  // A limiter looser than TikTok's quota (another process shares it): 40100 comes back and is retried.
  const loose = await setup(t, {
    quota: { perSecond: 2, perMinute: 100 },
    limiter: { perSecond: 50, perMinute: 1000 },
    attempts: 40,
  })
  const d = await connect(loose)
  const results = await Promise.all(Array.from({ length: 6 }, () => loose.api.listForms(d.accessToken, d.advertiserId)))
  t.equal(results.length, 6, 'every call eventually succeeded')
  t.ok(loose.tt.counters.throttled > 0, `throttled ${loose.tt.counters.throttled} times, retried`)
  t.ok(loose.logs.some((l) => /rate limit/.test(l.msg)))
  const accepted = loose.tt.calls.filter((c) => c.code === 0).map((c) => c.at)
  for (const at of accepted) {
    const inSecond = accepted.filter((x) => x >= at && x < at + 1000).length
    t.ok(inSecond <= 2, 'the retries never pushed the accepted calls over the quota')
  }

  // Out of attempts: the rate_limited error comes out.
  const limiter = createTikTokLimiter({ perSecond: 100, perMinute: 1000 })
  t.teardown(() => limiter.close())
  const tight = createTikTokApi({
    apiUrl: loose.tt.url,
    ...APP,
    timeoutMs: 2000,
    limiter,
    retry: { attempts: 2, baseMs: 1, maxMs: 2 },
  })
  const errs = await Promise.all(
    Array.from({ length: 8 }, () => tight.listForms(d.accessToken, d.advertiserId).catch((e: unknown) => e)),
  )
  t.ok(errs.some((e) => e instanceof TikTokApiError && e.kind === 'rate_limited' && e.code === 40100))
})

t.test('transport failures are transient; big numeric ids keep their digits', async (t) => {
  let answer: (res: http.ServerResponse) => void = (res) => res.end()
  const server = http.createServer((_req, res) => answer(res))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => server.close())
  const limiter = createTikTokLimiter()
  t.teardown(() => limiter.close())
  const api = createTikTokApi({
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ...APP,
    timeoutMs: 300,
    limiter,
  })
  const json = (body: string) => (res: http.ServerResponse) => {
    res.setHeader('content-type', 'application/json')
    res.end(body)
  }

  answer = json(
    '{"code":0,"message":"OK","data":{"access_token":"tok","advertiser_ids":[7212345678901234567,"7212345678901234568"],"scope":[12010000]}}',
  )
  t.same(
    await api.exchangeAuthCode('code-1'),
    {
      accessToken: 'tok',
      advertiserIds: ['7212345678901234567', '7212345678901234568'],
      scope: [12010000],
    },
    'through the SDK, a bare 19-digit number keeps its digits',
  )
  answer = json('{"code":0,"data":{"list":[{"advertiser_id":7212345678901234569,"advertiser_name":"X"}]}}')
  t.same(await api.listAdvertisers('tok'), [{ advertiserId: '7212345678901234569', advertiserName: 'X' }])
  answer = json(
    '{"code":0,"data":{"list":[{"page_id":7312345678901234567,"title":"F","status":"PUBLISHED"}],"page_info":{"total_page":1}}}',
  )
  t.same(await api.listForms('tok', '1'), [{ pageId: '7312345678901234567', title: 'F', status: 'PUBLISHED' }])

  const cases: Array<[string, (res: http.ServerResponse) => void, object]> = [
    [
      'HTTP 404 (no trailing slash)',
      (res) => {
        res.statusCode = 404
        res.end('404 page not found')
      },
      { kind: 'transient', code: 0 },
    ],
    [
      'HTTP 503',
      (res) => {
        res.statusCode = 503
        res.end('{}')
      },
      { kind: 'transient' },
    ],
    ['not JSON', (res) => res.end('<html>'), { kind: 'transient' }],
    ['timeout', () => {}, { kind: 'transient', message: /timed out/ }],
    ['permission', json('{"code":40001,"message":"No permission"}'), { kind: 'permission', code: 40001 }],
    ['token', json('{"code":40104,"message":"Access token is null"}'), { kind: 'token_invalid', code: 40104 }],
    ['system', json('{"code":50000,"message":"System error"}'), { kind: 'transient', code: 50000 }],
    ['param', json('{"code":40002,"message":"Missing field"}'), { kind: 'bad_request', code: 40002 }],
  ]
  for (const [name, a, expected] of cases) {
    answer = a
    t.match(await api.listForms('tok', '1').catch((e: unknown) => e), expected, `fetch: ${name}`)
    t.match(await api.listAdvertisers('tok').catch((e: unknown) => e), expected, `SDK: ${name}`)
  }
  // A download: a JSON answer is an error; a file is streamed; a stalled file fails, not hangs.
  answer = json('{"code":40201,"message":"Task is not ready."}')
  t.match(await api.downloadLeadTask('tok', '1', '2').catch((e: unknown) => e), { kind: 'transient', code: 40201 })
  answer = (res) => {
    res.setHeader('content-type', 'application/octet-stream')
    res.setHeader('content-disposition', 'attachment; filename="leads_1.zip"')
    res.end('PK')
  }
  const zip = await api.downloadLeadTask('tok', '1', '2')
  t.equal(zip.fileType, 'zip')
  zip.body.resume()
  answer = (res) => {
    res.setHeader('content-type', 'text/csv')
    res.write('lead_id,name\n1,Ann\n') // and then nothing
  }
  const stalled = await api.downloadLeadTask('tok', '1', '2')
  t.equal(stalled.fileType, 'csv')
  const chunks: Buffer[] = []
  const failed = await (async () => {
    for await (const c of stalled.body) chunks.push(c as Buffer)
  })().catch((e: unknown) => e)
  t.match(failed, { kind: 'transient', message: /stalled/ })
  t.equal(Buffer.concat(chunks).toString(), 'lead_id,name\n1,Ann\n', 'what arrived was passed on')

  // TikTok's message is quoted, but never with our secret in it.
  answer = json(`{"code":40101,"message":"secret ${APP.appSecret} does not match"}`)
  const err = (await api.listSubscriptions().catch((e: unknown) => e)) as Error
  t.notOk(err.message.includes(APP.appSecret))
  t.match(err.message, /subscription\/get/)
})

t.test('classify', async (t) => {
  t.equal(classify(40100), 'rate_limited')
  t.equal(classify(40105), 'token_invalid')
  t.equal(classify(40102), 'token_invalid')
  t.equal(classify(40001), 'permission')
  t.equal(classify(50002), 'transient')
  t.equal(classify(40002), 'bad_request')
})
