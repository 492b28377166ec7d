/**
 * App-wide quota: every endpoint and token share perSecond and perMinute; over it, HTTP 200 with
 * code 40100 and no Retry-After; throttled calls don't count and are counted in counters.throttled.
 * @see reference/tiktok.md §6 (api-evangelist/tiktok-ads rate limits); errors yml 40100
 */
import t from 'tap'
import { APP, call, connect, fakeClock, startTikTok } from './helpers.js'

t.test('per second, across endpoints and tokens', async (t) => {
  const clock = fakeClock()
  const tt = await startTikTok(t, { now: clock.now, quota: { perSecond: 3, perMinute: 100 } })
  tt.addAdvertiser({ name: 'Acme' })
  const a = await connect(tt) // 1 call
  const b = await connect(tt) // 2
  const q = { app_id: APP.appId, secret: APP.appSecret }
  t.equal((await call(tt, 'GET', 'oauth2/advertiser/get/', q, { token: a })).body.code, 0) // 3
  const response = await fetch(`${tt.url}/open_api/v1.3/oauth2/advertiser/get/?${new URLSearchParams(q)}`, {
    headers: { 'Access-Token': b },
  })
  t.equal(response.status, 200)
  t.equal(response.headers.get('retry-after'), null)
  t.match(await response.json(), { code: 40100, data: {} })
  t.equal(tt.counters.throttled, 1)
  clock.advance(999)
  t.equal((await call(tt, 'GET', 'oauth2/advertiser/get/', q, { token: b })).body.code, 40100)
  clock.advance(1)
  t.equal((await call(tt, 'GET', 'oauth2/advertiser/get/', q, { token: b })).body.code, 0, 'a second later it passes')
  t.equal(tt.counters.throttled, 2)
  t.equal(tt.calls.filter((c) => c.code === 40100).length, 2)
})

t.test('per minute', async (t) => {
  const clock = fakeClock()
  const tt = await startTikTok(t, { now: clock.now, quota: { perSecond: 10, perMinute: 5 } })
  const q = { app_id: APP.appId, secret: APP.appSecret, subscribe_entity: 'LEAD' }
  for (let i = 0; i < 5; i++) {
    t.equal((await call(tt, 'GET', 'subscription/get/', q)).body.code, 0)
    clock.advance(5000)
  }
  t.equal((await call(tt, 'GET', 'subscription/get/', q)).body.code, 40100, 'the sixth in a minute is throttled')
  clock.advance(35_001) // the first call is now more than a minute old
  t.equal((await call(tt, 'GET', 'subscription/get/', q)).body.code, 0)
})
