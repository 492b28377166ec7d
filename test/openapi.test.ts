import t from 'tap'
import { startApp } from './helpers.js'

// The JSON API is published as OpenAPI from the routes' own zod schemas.
t.test('GET /openapi.json describes the webhook, the event handler and the settings API', async (t) => {
  const { app } = await startApp(t)
  const res = await app.inject('/openapi.json')
  t.equal(res.statusCode, 200)
  const doc = res.json()
  t.match(doc, { openapi: /^3\./, info: { title: String } })
  const paths = Object.keys(doc.paths)
  for (const p of [
    '/tiktok/webhook/{key}',
    '/bitrix24/events',
    '/api/settings/state',
    '/api/settings/options',
    '/api/settings/mapping',
    '/api/settings/leads',
    '/api/settings/tiktok/grant',
  ])
    t.ok(paths.includes(p), `${p} is there`)
  for (const p of ['/bitrix24/install', '/bitrix24/app', '/static/settings.js', '/openapi.json', '/metrics'])
    t.notOk(paths.includes(p), `${p} (not JSON API) is left out`)

  const options = doc.paths['/api/settings/options'].post.requestBody.content['application/json'].schema
  t.match(options, {
    type: 'object',
    properties: { dedup_policy: { enum: ['off', 'skip', 'update', 'link'] }, rate_per_s: {} },
    required: ['dedup_policy', 'rate_per_s', 'verify_mode'],
  })
  t.same(doc.paths['/api/settings/options'].post.security, [{ session: [], csrf: [] }], 'changes need both tokens')
  t.same(doc.paths['/api/settings/state'].get.security, [{ session: [] }], 'reads the session')
  t.match(doc.components.securitySchemes, { session: { in: 'header', name: 'X-Session' } })
  t.notOk(doc.paths['/tiktok/webhook/{key}'].post.security, 'the webhook needs no session')
  const leads = doc.paths['/api/settings/leads'].get.parameters.map((p: { name: string }) => p.name)
  t.same(leads.sort(), ['before', 'limit', 'status'])
  const webhook = doc.paths['/tiktok/webhook/{key}'].post
  t.match(webhook.parameters, [{ name: 'key', in: 'path' }])
  t.match(webhook.requestBody.content['application/json'].schema, { properties: { entry: { type: 'array' } } })
})
