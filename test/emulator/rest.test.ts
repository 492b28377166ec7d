/**
 * The REST envelope and the system errors with their HTTP statuses, over every encoding a
 * portal accepts (JSON with auth inside like b24jssdk, PHP-style forms, GET query).
 * @see _includes/system-errors.md, api-reference/data-types.md#time
 */
import t from 'tap'
import { callForm, callGet, callJson, fakeClock, startEmulator } from './helpers.js'

const TIME_KEYS = ['start', 'finish', 'duration', 'processing', 'date_start', 'date_finish', 'operating_reset_at', 'operating']

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
  t.same(reply.body.result, { ID: '1', ADMIN: true, NAME: 'Anna', LAST_NAME: 'Admin', PERSONAL_GENDER: '', TIME_ZONE: '' })
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
  t.match(await callJson(other, 'profile', {}, tokens.access_token), {
    status: 401,
    body: { error: 'invalid_token' },
  }, 'a token of another portal is invalid here')

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
  t.match(await callJson(portal, 'placement.bind', { PLACEMENT: 'CRM_LEAD_LIST_MENU', HANDLER: 'http://x' }, access_token), {
    status: 403,
    body: { error: 'insufficient_scope' },
  })
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
    body: { result: { CODE: 'local.test.app', INSTALLED: false, LANGUAGE_ID: 'de', LICENSE: 'de_project', PAYMENT_EXPIRED: 'N' } },
  })
})

t.test('a portal the emulator does not host', async (t) => {
  const emu = await startEmulator(t)
  const response = await fetch(`${emu.url}/p/nope/rest/profile.json`)
  t.equal(response.status, 404)
})
