/**
 * The wire, one group per section (one file per group keeps the suite fast: tap runs each file
 * in its own process):
 * - OAuth server: refresh_token grants rotate (a refresh token works once), the answer has the
 *   documented fields; bad client credentials, used/unknown/expired tokens and injected failures
 *   answer the documented codes. @see settings/oauth/auto-renewal.md, settings/oauth/error-codes.md
 * - REST envelope and system errors with their HTTP statuses, over every encoding a portal
 *   accepts (JSON with auth inside like b24jssdk, PHP-style forms, GET query).
 *   @see _includes/system-errors.md, api-reference/data-types.md#time
 * - Leaky bucket with an injected clock: 50 pass, the 51st gets 503 QUERY_LIMIT_EXCEEDED, one
 *   second later two more pass; a batch counts once; enterprise 250 and 5/s; one bucket per
 *   portal. @see limits.md "Request Rate Limits"
 * - Faults: 500/503 answer without processing; 'timeout' neither answers nor processes;
 *   'timeout-after-processing' and 'reset' process (the lead exists) but give no answer;
 *   latency delays replies; close() ends held sockets.
 */
import t from 'tap'
import { buildEmulator, type Portal } from './index.js'
import { callForm, callGet, callJson, fakeClock, startEmulator } from './helpers.js'

// ---- oauth -------------------------------------------------------------------

const CLIENT = { client_id: 'local.test.app', client_secret: 'test-secret' }

async function refreshGet(base: string, refreshToken: string, client = CLIENT) {
  const query = new URLSearchParams({ grant_type: 'refresh_token', ...client, refresh_token: refreshToken })
  const response = await fetch(`${base}/oauth/token/?${query.toString()}`)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

async function refreshPost(base: string, refreshToken: string) {
  const response = await fetch(`${base}/oauth/token/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', ...CLIENT, refresh_token: refreshToken }),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

t.test('refresh answers the documented fields and rotates the refresh token', async (t) => {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now })
  const portal = emu.createPortal()
  const first = portal.issueToken(2)

  const a = await refreshGet(emu.oauthUrl, first.refresh_token)
  t.equal(a.status, 200)
  t.match(a.body, {
    access_token: /^[0-9a-f]{64,}$/,
    refresh_token: /^[0-9a-f]{64,}$/,
    expires: Math.floor(clock.now() / 1000) + 3600,
    expires_in: 3600,
    scope: 'crm,placement,user_brief',
    domain: new URL(emu.url).host,
    server_endpoint: portal.serverEndpoint,
    client_endpoint: portal.clientEndpoint,
    member_id: portal.memberId,
    user_id: 2,
    status: 'L',
  })
  t.not(a.body['refresh_token'], first.refresh_token)

  const reused = await refreshGet(emu.oauthUrl, first.refresh_token)
  t.equal(reused.status, 400)
  t.equal(reused.body['error'], 'invalid_grant', 'a used refresh token is refused')

  const b = await refreshPost(emu.oauthUrl, String(a.body['refresh_token']))
  t.equal(b.status, 200, 'the new refresh token works, by POST too')

  const viaNew = await callJson(portal, 'profile', {}, String(b.body['access_token']))
  t.equal(viaNew.status, 200)
  t.equal(viaNew.body.result.ID, '2')
  const viaOld = await callJson(portal, 'profile', {}, first.access_token)
  t.equal(viaOld.status, 200, 'the previous access token lives until it expires')

  t.equal(emu.counters.refreshes, 2)
  t.match(emu.oauthCalls, [
    { httpMethod: 'GET', grantType: 'refresh_token', status: 200, memberId: portal.memberId },
    { httpMethod: 'GET', status: 400, error: 'invalid_grant' },
    { httpMethod: 'POST', status: 200 },
  ])
})

t.test('unknown token, bad client, missing grant', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const tokens = portal.issueToken()

  const unknown = await refreshGet(emu.oauthUrl, 'nope')
  t.same([unknown.status, unknown.body['error']], [400, 'invalid_grant'])

  const badSecret = await refreshGet(emu.oauthUrl, tokens.refresh_token, { ...CLIENT, client_secret: 'wrong' })
  t.same([badSecret.status, badSecret.body['error']], [401, 'invalid_client'])
  const badClient = await refreshGet(emu.oauthUrl, tokens.refresh_token, { ...CLIENT, client_id: 'app.other' })
  t.same([badClient.status, badClient.body['error']], [401, 'invalid_client'])

  const stillGood = await refreshGet(emu.oauthUrl, tokens.refresh_token)
  t.equal(stillGood.status, 200, 'a refused request does not burn the refresh token')

  const noGrant = await fetch(`${emu.oauthUrl}/oauth/token/?client_id=x`)
  t.equal(noGrant.status, 400)
  t.match(await noGrant.json(), { error: 'invalid_request' })
})

t.test('refresh tokens expire', async (t) => {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now, refreshTtlSec: 60 })
  const tokens = emu.createPortal().issueToken()
  clock.advance(61_000)
  const late = await refreshGet(emu.oauthUrl, tokens.refresh_token)
  t.same([late.status, late.body['error']], [400, 'invalid_grant'])
})

t.test('injected refresh failures', async (t) => {
  const emu = await startEmulator(t)
  const tokens = emu.createPortal().issueToken()

  emu.faults.refreshFails = 'invalid_grant'
  t.match(await refreshGet(emu.oauthUrl, tokens.refresh_token), { status: 400, body: { error: 'invalid_grant' } })
  emu.faults.refreshFails = 'portal_deleted'
  t.match(await refreshGet(emu.oauthUrl, tokens.refresh_token), {
    status: 400,
    body: { error: 'invalid_grant', error_description: /deleted/ },
  })
  emu.faults.refreshFails = 500
  t.match(await refreshGet(emu.oauthUrl, tokens.refresh_token), {
    status: 500,
    body: { error: 'INTERNAL_SERVER_ERROR' },
  })
  emu.faults.clear()
  t.equal((await refreshGet(emu.oauthUrl, tokens.refresh_token)).status, 200, 'failures do not consume the token')
  t.equal(emu.oauthCalls.length, 4)
})

t.test('the OAuth server REST base answers app.info for a portal token', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal({ plan: 'enterprise' })
  const tokens = portal.issueToken()
  const response = await fetch(`${portal.serverEndpoint}app.info?auth=${tokens.access_token}`)
  t.equal(response.status, 200)
  t.match(await response.json(), { result: { CODE: 'local.test.app', STATUS: 'L', LICENSE_FAMILY: 'ent' }, time: {} })
  const bad = await fetch(`${portal.serverEndpoint}app.info?auth=forged`)
  t.equal(bad.status, 401)
})

// ---- rest --------------------------------------------------------------------

const TIME_KEYS = [
  'start',
  'finish',
  'duration',
  'processing',
  'date_start',
  'date_finish',
  'operating_reset_at',
  'operating',
]

t.test('success envelope: result and time', async (t) => {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now })
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  const reply = await callJson(portal, 'profile', {}, access_token)
  t.equal(reply.status, 200)
  t.same(Object.keys(reply.body), ['result', 'time'])
  t.same(Object.keys(reply.body.time), TIME_KEYS)
  t.equal(reply.body.time.start, clock.now() / 1000)
  t.equal(reply.body.time.date_start, '2025-01-15T12:00:00+00:00')
  t.same(reply.body.result, {
    ID: '1',
    ADMIN: true,
    NAME: 'Anna',
    LAST_NAME: 'Admin',
    PERSONAL_GENDER: '',
    TIME_ZONE: '',
  })
})

t.test('the three encodings, .json or not, double slash, any case', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken(2)
  for (const call of [callJson, callForm, callGet]) {
    const reply = await call(portal, 'user.current', {}, access_token)
    t.equal(reply.status, 200, call.name)
    t.equal(reply.body.result.ID, '2')
  }
  const sdkStyle = await fetch(`${portal.clientEndpoint}/PROFILE?bx24_request_id=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: access_token }),
  })
  t.equal(sdkStyle.status, 200, 'b24jssdk joins client_endpoint and /method: rest//method')
  t.match(emu.calls.at(-1), { method: 'profile', memberId: portal.memberId, status: 200, userId: 2 })
  t.notOk(JSON.stringify(emu.calls).includes(access_token), 'recorded params leave auth out')
})

t.test('auth errors are 401: NO_AUTH_FOUND, invalid_token, expired_token', async (t) => {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now })
  const portal = emu.createPortal()
  const other = emu.createPortal()
  const tokens = portal.issueToken()

  t.match(await callJson(portal, 'profile', {}), { status: 401, body: { error: 'NO_AUTH_FOUND' } })
  t.match(await callJson(portal, 'profile', {}, 'forged'), { status: 401, body: { error: 'invalid_token' } })
  t.match(
    await callJson(other, 'profile', {}, tokens.access_token),
    {
      status: 401,
      body: { error: 'invalid_token' },
    },
    'a token of another portal is invalid here',
  )

  clock.advance(3600 * 1000)
  t.match(await callJson(portal, 'profile', {}, tokens.access_token), {
    status: 401,
    body: { error: 'expired_token', error_description: 'The access token provided has expired' },
  })

  const fresh = portal.issueToken()
  t.equal((await callJson(portal, 'profile', {}, fresh.access_token)).status, 200)
  emu.faults.expireAllTokens()
  t.match(await callJson(portal, 'profile', {}, fresh.access_token), { status: 401, body: { error: 'expired_token' } })
  const later = portal.issueToken()
  t.equal((await callJson(portal, 'profile', {}, later.access_token)).status, 200, 'tokens issued later work')
})

t.test('ERROR_METHOD_NOT_FOUND 404, insufficient_scope 403', async (t) => {
  const emu = await startEmulator(t, { scope: 'crm' })
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  t.match(await callJson(portal, 'crm.lead.frobnicate', {}, access_token), {
    status: 404,
    body: { error: 'ERROR_METHOD_NOT_FOUND' },
  })
  t.match(await callJson(portal, 'user.current', {}, access_token), {
    status: 403,
    body: { error: 'insufficient_scope' },
  })
  t.match(
    await callJson(portal, 'placement.bind', { PLACEMENT: 'CRM_LEAD_LIST_MENU', HANDLER: 'http://x' }, access_token),
    {
      status: 403,
      body: { error: 'insufficient_scope' },
    },
  )
  t.equal((await callJson(portal, 'app.info', {}, access_token)).status, 200, 'basic methods need no scope')
})

t.test('list envelope: total and next', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  const reply = await callJson(portal, 'user.get', {}, access_token)
  t.same(Object.keys(reply.body), ['result', 'total', 'time'])
  t.equal(reply.body.total, 2)
})

t.test('app.info follows the install state', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal({ lang: 'de', plan: 'free' })
  const { access_token } = portal.issueToken()
  t.match(await callJson(portal, 'app.info', {}, access_token), {
    body: {
      result: {
        CODE: 'local.test.app',
        INSTALLED: false,
        LANGUAGE_ID: 'de',
        LICENSE: 'de_project',
        PAYMENT_EXPIRED: 'N',
      },
    },
  })
})

t.test('a portal the emulator does not host', async (t) => {
  const emu = await startEmulator(t)
  const response = await fetch(`${emu.url}/p/nope/rest/profile.json`)
  t.equal(response.status, 404)
})

// ---- bucket ------------------------------------------------------------------

/** n requests one after the other: the statuses in order. */
async function burst(portal: Portal, token: string, n: number): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < n; i++) statuses.push((await callJson(portal, 'profile', {}, token)).status)
  return statuses
}

/** n requests, 25 at a time (the clock is frozen, so only the counts matter). */
async function flood(portal: Portal, token: string, n: number): Promise<{ ok: number; limited: number }> {
  const out = { ok: 0, limited: 0 }
  for (let done = 0; done < n; done += 25) {
    const size = Math.min(25, n - done)
    const replies = await Promise.all(Array.from({ length: size }, () => callJson(portal, 'profile', {}, token)))
    for (const r of replies) {
      if (r.status === 200) out.ok += 1
      else if (r.status === 503) out.limited += 1
    }
  }
  return out
}

t.test('50 pass, the 51st is refused, 1 s later two more pass', async (t) => {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now })
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()

  t.same(await flood(portal, access_token, 50), { ok: 50, limited: 0 }, '50 requests pass')
  const refused = await callJson(portal, 'profile', {}, access_token)
  t.match(refused, { status: 503, body: { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' } })
  t.equal(emu.counters.rateLimited, 1)

  clock.advance(1000)
  t.same(await burst(portal, access_token, 3), [200, 200, 503], 'two drained, the third is refused')
  t.equal(emu.counters.rateLimited, 2)
  t.equal(emu.counters.restRequests, 54)

  clock.advance(500)
  t.same(await burst(portal, access_token, 2), [200, 503], 'drain is continuous: 0.5 s frees one')
})

t.test('a batch of 50 commands counts once', async (t) => {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now })
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  await flood(portal, access_token, 49)
  const cmd: Record<string, string> = {}
  for (let i = 0; i < 50; i++) cmd[`c${i}`] = 'profile'
  const batch = await callJson(portal, 'batch', { halt: 0, cmd }, access_token)
  t.equal(batch.status, 200)
  t.equal(Object.keys(batch.body.result.result).length, 50)
  t.equal((await callJson(portal, 'profile', {}, access_token)).status, 503, 'the batch took the 50th slot only')
})

t.test('auth failures do not fill the bucket', async (t) => {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now })
  const portal = emu.createPortal()
  await flood(portal, 'forged', 60)
  t.equal(portal.bucketLevel(), 0)
})

t.test('plans and overrides; one bucket per portal', async (t) => {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now })
  const enterprise = emu.createPortal({ plan: 'enterprise' })
  const tiny = emu.createPortal({ burst: 3, drainRate: 1 })
  const other = emu.createPortal()

  const ent = enterprise.issueToken()
  t.same(await flood(enterprise, ent.access_token, 251), { ok: 250, limited: 1 }, 'enterprise bursts to 250')
  clock.advance(1000)
  t.same(await burst(enterprise, ent.access_token, 6), [200, 200, 200, 200, 200, 503], 'and drains 5/s')

  const small = tiny.issueToken()
  t.same(await burst(tiny, small.access_token, 4), [200, 200, 200, 503], 'per-portal override')

  const own = other.issueToken()
  t.equal((await callJson(other, 'profile', {}, own.access_token)).status, 200, 'other portals are unaffected')
})

// ---- faults ------------------------------------------------------------------

const LEAD = { fields: { TITLE: 'x' } }

t.test('500 and 503 answer at once and process nothing', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()

  emu.faults.failNext(1, 500)
  t.same(await callJson(portal, 'crm.lead.add', LEAD, access_token), {
    status: 500,
    body: { error: 'INTERNAL_SERVER_ERROR', error_description: 'Internal server error' },
  })
  emu.faults.failNext(1, 503)
  t.match(await callJson(portal, 'crm.lead.add', LEAD, access_token), {
    status: 503,
    body: { error: 'QUERY_LIMIT_EXCEEDED' },
  })
  t.equal(emu.counters.rateLimited, 1)
  t.equal(portal.leads.size, 0)
  t.equal((await callJson(portal, 'crm.lead.add', LEAD, access_token)).status, 200, 'the next call is normal')
  t.match(
    emu.calls.map((c) => c.status),
    [500, 503, 200],
  )
})

t.test('faults can target a method or a portal', async (t) => {
  const emu = await startEmulator(t)
  const a = emu.createPortal()
  const b = emu.createPortal()
  const ta = a.issueToken().access_token
  const tb = b.issueToken().access_token
  emu.faults.failNext(2, 500, { method: 'crm.lead.add', memberId: b.memberId })
  t.equal((await callJson(b, 'profile', {}, tb)).status, 200)
  t.equal((await callJson(a, 'crm.lead.add', LEAD, ta)).status, 200)
  t.equal((await callJson(b, 'crm.lead.add', LEAD, tb)).status, 500)
  t.equal((await callJson(b, 'CRM.LEAD.ADD', LEAD, tb)).status, 500)
  t.equal((await callJson(b, 'crm.lead.add', LEAD, tb)).status, 200, 'two uses, then spent')
  emu.faults.failNext(5, 500)
  emu.faults.clear()
  t.equal((await callJson(b, 'profile', {}, tb)).status, 200, 'clear() drops pending faults')
})

t.test('timeout: no answer, nothing processed', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  emu.faults.failNext(1, 'timeout')
  const started = Date.now()
  await t.rejects(
    fetch(`${portal.clientEndpoint}crm.lead.add.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...LEAD, auth: access_token }),
      signal: AbortSignal.timeout(200),
    }),
  )
  t.ok(Date.now() - started >= 190, 'the client gave up on its own timer')
  t.equal(portal.leads.size, 0)
  t.match(emu.calls.at(-1), { method: 'crm.lead.add', status: 0, error: 'timeout' })
})

t.test('timeout-after-processing: the lead exists, the answer never comes', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  emu.faults.failNext(1, 'timeout-after-processing', { method: 'crm.lead.add' })
  await t.rejects(
    fetch(`${portal.clientEndpoint}crm.lead.add.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...LEAD, auth: access_token }),
      signal: AbortSignal.timeout(200),
    }),
  )
  t.equal(portal.leads.size, 1)
  t.match(emu.calls.at(-1), { status: 0, error: 'timeout-after-processing', userId: 1 })
})

t.test('reset: processed, then the connection drops', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  emu.faults.failNext(1, 'reset')
  await t.rejects(
    callJson(
      portal,
      'batch',
      { cmd: { a: 'crm.lead.add?fields[TITLE]=a', b: 'crm.lead.add?fields[TITLE]=b' } },
      access_token,
    ),
  )
  t.equal(portal.leads.size, 2, 'both commands ran')
  t.equal((await callJson(portal, 'profile', {}, access_token)).status, 200, 'the server is fine afterwards')
})

t.test('latency is added to every REST reply', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  emu.faults.latencyMs = 150
  const started = Date.now()
  await callJson(portal, 'profile', {}, access_token)
  t.ok(Date.now() - started >= 140)
})

t.test('close() ends held sockets', async (t) => {
  const emu = await buildEmulator()
  await emu.listen()
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  emu.faults.failNext(1, 'timeout')
  const pending = callJson(portal, 'profile', {}, access_token)
  await new Promise((r) => setTimeout(r, 100))
  const started = Date.now()
  await emu.close()
  await t.rejects(pending, 'the held request fails when the emulator closes')
  t.ok(Date.now() - started < 2000)
})
