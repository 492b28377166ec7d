import t from 'tap'
import { startApp } from '../helpers.js'

// The settings API checks the session before the body: a caller without one gets 401 whatever it
// sends, never a 400 describing what a valid body looks like.
t.test('no session: 401 before any body validation', async (t) => {
  const { app } = await startApp(t)
  for (const [url, payload] of [
    ['/api/settings/options', { dedup_policy: 'sometimes' }],
    ['/api/settings/mapping', ['not', 'an', 'object']],
    ['/api/settings/leads/resend', {}],
  ] as const) {
    const res = await app.inject({ method: 'POST', url, payload })
    t.equal(res.statusCode, 401, url)
    t.match(res.json(), { error: 'APP_ERR_UNAUTHORIZED' }, url)
    t.equal(res.headers['cache-control'], 'no-store', `${url}: not cached`)
  }
  const forged = await app.inject({
    method: 'GET',
    url: '/api/settings/leads?limit=oops',
    headers: { 'x-session': 'e30.forged' },
  })
  t.equal(forged.statusCode, 401, 'a forged session with a bad query')
})

t.test('page opens are counted before their body is validated', async (t) => {
  const { app } = await startApp(t)
  const statuses: number[] = []
  for (let i = 0; i < 62; i++) {
    const res = await app.inject({
      method: 'POST',
      url: '/bitrix24/app',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'member_id=a%20b',
    })
    statuses.push(res.statusCode)
  }
  t.ok(
    statuses.slice(0, 60).every((s) => s === 400),
    'malformed opens are refused as such',
  )
  t.same(statuses.slice(60), [429, 429], 'and still spend the address budget')
})
