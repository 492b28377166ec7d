import t from 'tap'
import { startApp } from '../helpers.js'

// Every handler answers bad input with a 4xx that says what is wrong, and stores nothing.
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

t.test('install: missing fields, wrong types, garbage, huge bodies', async (t) => {
  const { app } = await startApp(t, { config: { BODY_LIMIT_BYTES: 4096 } })
  const cases: Array<[string, { headers: Record<string, string>; payload: string }, number, RegExp]> = [
    ['empty body', { headers: FORM, payload: '' }, 400, /member_id|AUTH_ID/],
    ['no refresh token', { headers: FORM, payload: 'AUTH_ID=a&member_id=m1' }, 400, /REFRESH_ID/],
    ['member_id with a slash', { headers: FORM, payload: 'AUTH_ID=a&REFRESH_ID=b&member_id=..%2Fx' }, 400, /member_id/],
    [
      'AUTH_EXPIRES not a number',
      { headers: FORM, payload: 'AUTH_ID=a&REFRESH_ID=b&member_id=m1&AUTH_EXPIRES=soon' },
      400,
      /AUTH_EXPIRES/,
    ],
    [
      'JSON garbage',
      { headers: { 'content-type': 'application/json' }, payload: '{"AUTH_ID":' },
      400,
      /JSON|Unexpected|body/i,
    ],
  ]
  for (const [name, req, status, message] of cases) {
    const res = await app.inject({ method: 'POST', url: '/bitrix24/install', ...req })
    t.equal(res.statusCode, status, name)
    t.match(res.json().message, message, name)
  }
  const huge = await app.inject({
    method: 'POST',
    url: '/bitrix24/install',
    headers: FORM,
    payload: `AUTH_ID=${'x'.repeat(10_000)}`,
  })
  t.equal(huge.statusCode, 413, 'huge body')
  t.match(huge.json(), { error: 'APP_ERR_BODY_TOO_LARGE' }, 'huge body')
  t.same(await app.portals.list(), [])
})

t.test('events: missing auth, missing event, wrong shapes', async (t) => {
  const { app } = await startApp(t)
  const cases: Array<[string, string, RegExp]> = [
    ['no auth', 'event=ONAPPINSTALL', /auth/],
    ['no event', 'auth[member_id]=m&auth[application_token]=t', /event/],
    ['auth is a string', 'event=ONAPPINSTALL&auth=abc', /auth/],
    ['no application_token', 'event=ONAPPUNINSTALL&auth[member_id]=m', /application_token/],
  ]
  for (const [name, payload, message] of cases) {
    const res = await app.inject({ method: 'POST', url: '/bitrix24/events', headers: FORM, payload })
    t.equal(res.statusCode, 400, name)
    t.match(res.json(), { error: 'APP_ERR_BAD_REQUEST', message }, name)
  }
  const rows = await app.db.selectFrom('portal_events').selectAll().execute()
  t.same(rows, [])
})

t.test('placement and app page: missing or malformed fields', async (t) => {
  const { app } = await startApp(t)
  for (const url of ['/bitrix24/placement', '/bitrix24/app']) {
    const none = await app.inject({ method: 'POST', url, headers: FORM, payload: '' })
    t.equal(none.statusCode, 400, `${url}: empty`)
    t.match(none.json().message, /AUTH_ID|member_id/)
    const bad = await app.inject({ method: 'POST', url, headers: FORM, payload: 'AUTH_ID=x&member_id=a%20b' })
    t.equal(bad.statusCode, 400, `${url}: bad member_id`)
    t.match(bad.json().message, /member_id/)
  }
})

t.test('unknown routes and methods get a 404 with the path', async (t) => {
  const { app } = await startApp(t)
  const res = await app.inject({ method: 'GET', url: '/bitrix24/install' })
  t.equal(res.statusCode, 404)
  t.match(res.json(), { error: 'APP_ERR_NOT_FOUND' })
})
