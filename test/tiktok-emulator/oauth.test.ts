/**
 * Advertiser authorisation and the wire:
 * - the auth page lists the advertisers; Approve redirects with `auth_code` and `code` (same value)
 *   and `state`, Deny with `error=access_denied` [INFERRED]; an unknown app or unregistered
 *   redirect_uri gets an HTML error page. @see bububa api/oauth/url.go; reference/tiktok-research.md §4.1
 * - auth_code: 1 hour, single use, 40110 otherwise; wrong secret 40101 without burning the code.
 *   @see bububa model/oauth/access_token.go; api-evangelist/tiktok-ads errors yml (40101, 40110)
 * - the token goes in `Access-Token`; `Authorization: Bearer` alone is a missing token (40104);
 *   unknown/revoked 40105. Errors are HTTP 200 with a non-zero code. Paths without the trailing
 *   slash: bare `404 page not found`. @see api-evangelist/tiktok-ads authentication + errors yml
 */
import t from 'tap'
import { APP, call, connect, fakeClock, REDIRECT, startTikTok, type Json } from './helpers.js'

function authQuery(over: Record<string, string> = {}) {
  return new URLSearchParams({ app_id: APP.appId, state: 'st-1', redirect_uri: REDIRECT, ...over }).toString()
}

t.test('auth page: approve and deny are real form posts that redirect', async (t) => {
  const tt = await startTikTok(t)
  const a = tt.addAdvertiser({ name: 'Acme <LLC>' })
  const b = tt.addAdvertiser({ name: 'Beta' })
  t.match(a.id, /^\d{19}$/)

  const pageRes = await fetch(`${tt.authUrl}?${authQuery()}`)
  t.equal(pageRes.status, 200)
  const html = await pageRes.text()
  t.match(html, /id="approve"/)
  t.match(html, /id="deny"/)
  t.match(html, new RegExp(`name="advertiser_ids" value="${a.id}"`))
  t.match(html, /Acme &#60;LLC&#62;/, 'names are escaped')
  t.match(html, /<form method="post" action="\/portal\/auth">/)

  const post = (fields: Array<[string, string]>) =>
    fetch(tt.authUrl, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams([
        ['app_id', APP.appId],
        ['state', 'st-1'],
        ['redirect_uri', REDIRECT],
        ...fields,
      ]).toString(),
    })

  const approved = await post([
    ['advertiser_ids', a.id],
    ['advertiser_ids', b.id],
    ['decision', 'approve'],
  ])
  t.equal(approved.status, 302)
  const location = new URL(approved.headers.get('location') as string)
  t.equal(`${location.origin}${location.pathname}`, REDIRECT)
  const code = location.searchParams.get('auth_code')
  t.ok(code)
  t.equal(location.searchParams.get('code'), code, 'code and auth_code carry the same value')
  t.equal(location.searchParams.get('state'), 'st-1')

  const exchanged = await call(tt, 'POST', 'oauth2/access_token/', {
    app_id: APP.appId,
    secret: APP.appSecret,
    auth_code: code,
  })
  t.equal(exchanged.status, 200)
  t.match(exchanged.body, { code: 0, message: 'OK', request_id: /^\d{14}[0-9A-F]+$/, data: { token_type: 'Bearer' } })
  t.same(exchanged.body.data.advertiser_ids, [a.id, b.id])
  t.ok(
    exchanged.body.data.scope.every((s: unknown) => typeof s === 'number'),
    'scope ids are numbers',
  )

  const denied = await post([
    ['advertiser_ids', a.id],
    ['decision', 'deny'],
  ])
  t.equal(denied.status, 302)
  const deniedAt = new URL(denied.headers.get('location') as string)
  t.equal(deniedAt.searchParams.get('state'), 'st-1')
  t.equal(deniedAt.searchParams.get('error'), 'access_denied')
  t.equal(deniedAt.searchParams.get('auth_code'), null)

  const none = await post([['decision', 'approve']])
  t.equal(none.status, 400, 'approving no ad account is refused')
})

t.test('auth page: unknown app or unregistered redirect_uri is an HTML error page', async (t) => {
  const tt = await startTikTok(t)
  tt.addAdvertiser({ name: 'Acme' })
  const badApp = await fetch(`${tt.authUrl}?${authQuery({ app_id: 'other' })}`)
  t.equal(badApp.status, 400)
  t.match(badApp.headers.get('content-type'), /text\/html/)
  const badUri = await fetch(`${tt.authUrl}?${authQuery({ redirect_uri: 'https://evil.example.com/cb' })}`)
  t.equal(badUri.status, 400)
  const withQuery = await fetch(`${tt.authUrl}?${authQuery({ redirect_uri: `${REDIRECT}?portal=7` })}`)
  t.equal(withQuery.status, 200, 'the query of a registered URI is ignored')
  await t.rejects(tt.approve({ state: 'x', redirectUri: 'https://evil.example.com/cb' }))
})

t.test('auth_code is single use and expires after authCodeTtlMs', async (t) => {
  const clock = fakeClock()
  const tt = await startTikTok(t, { now: clock.now, authCodeTtlMs: 60_000 })
  tt.addAdvertiser({ name: 'Acme' })
  const exchange = (code: string, secret = APP.appSecret) =>
    call(tt, 'POST', 'oauth2/access_token/', { app_id: APP.appId, secret, auth_code: code })

  const first = await tt.approve({ state: 's', redirectUri: REDIRECT })
  t.match(first.location, /auth_code=/)
  const wrongSecret = await exchange(first.authCode, 'nope')
  t.match([wrongSecret.status, wrongSecret.body.code], [200, 40101])
  t.equal((await exchange(first.authCode)).body.code, 0, 'a refused exchange did not burn the code')
  t.equal((await exchange(first.authCode)).body.code, 40110, 'a used code is refused')
  t.equal((await exchange('unknown')).body.code, 40110)

  const second = await tt.approve({ state: 's', redirectUri: REDIRECT })
  clock.advance(60_000)
  const late = await exchange(second.authCode)
  t.match(late.body, { code: 40110, data: {} }, 'an expired code is refused')

  const missing = await call(tt, 'POST', 'oauth2/access_token/', { app_id: APP.appId, secret: APP.appSecret })
  t.match(missing.body, { code: 40002, message: /auth_code/ })
  const notJson = await fetch(`${tt.url}/open_api/v1.3/oauth2/access_token/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{nope',
  })
  t.equal(notJson.status, 200)
  t.equal(((await notJson.json()) as Json).code, 40002)
})

t.test('Access-Token header, not Bearer; trailing slash; revoke', async (t) => {
  const tt = await startTikTok(t)
  const adv = tt.addAdvertiser({ name: 'Acme' })
  const token = await connect(tt)
  const q = { app_id: APP.appId, secret: APP.appSecret }

  const good = await call(tt, 'GET', 'oauth2/advertiser/get/', q, { token })
  t.same(good.body.data, { list: [{ advertiser_id: adv.id, advertiser_name: 'Acme' }] })

  const bearer = await call(tt, 'GET', 'oauth2/advertiser/get/', q, { headers: { Authorization: `Bearer ${token}` } })
  t.match([bearer.status, bearer.body.code, bearer.body.message], [200, 40104, /Access-Token/])
  const wrong = await call(tt, 'GET', 'oauth2/advertiser/get/', q, { token: 'nope' })
  t.equal(wrong.body.code, 40105)
  const badSecret = await call(tt, 'GET', 'oauth2/advertiser/get/', { ...q, secret: 'x' }, { token })
  t.equal(badSecret.body.code, 40101)

  const noSlash = await call(tt, 'GET', 'oauth2/advertiser/get', q, { token })
  t.equal(noSlash.status, 404)
  t.equal(noSlash.text, '404 page not found')

  const revoked = await call(tt, 'POST', 'oauth2/revoke_token/', { ...q, access_token: token })
  t.same(revoked.body.data, { app_id: APP.appId, advertiser_ids: [adv.id] })
  t.equal(
    (await call(tt, 'GET', 'oauth2/advertiser/get/', q, { token })).body.code,
    40105,
    'a revoked token is invalid',
  )

  const again = await connect(tt)
  tt.revokeAdvertiserAccess(adv.id)
  t.equal((await call(tt, 'GET', 'oauth2/advertiser/get/', q, { token: again })).body.code, 40105)

  const recorded = JSON.stringify(tt.calls)
  t.notOk(recorded.includes(token), 'no token in calls')
  t.notOk(recorded.includes(APP.appSecret), 'no secret in calls')
  t.match(tt.calls[1], {
    method: 'GET',
    path: '/open_api/v1.3/oauth2/advertiser/get/',
    code: 0,
    query: { secret: '[redacted]' },
  })
})
