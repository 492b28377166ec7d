/**
 * The OAuth server: refresh_token grants rotate (a refresh token works once), the answer has the
 * documented fields, and bad client credentials, used/unknown/expired tokens and injected
 * failures answer the documented error codes.
 * @see settings/oauth/auto-renewal.md, settings/oauth/error-codes.md
 */
import t from 'tap'
import { callJson, fakeClock, startEmulator } from './helpers.js'

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
  t.match(await refreshGet(emu.oauthUrl, tokens.refresh_token), { status: 500, body: { error: 'INTERNAL_SERVER_ERROR' } })
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
