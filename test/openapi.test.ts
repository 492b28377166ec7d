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
  for (const p of ['/bitrix24/install', '/bitrix24/app', '/static/tiktok-callback.js', '/openapi.json', '/metrics'])
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

// The tab's types come from these same schemas (src/settings/answers.ts), so the document is the contract.
t.test('/openapi.json documents the answer of every settings API route', async (t) => {
  const { app } = await startApp(t)
  const doc = (await app.inject('/openapi.json')).json()
  const ops = Object.entries<Record<string, { responses?: Record<string, any> }>>(doc.paths)
    .filter(([p]) => p.startsWith('/api/settings/'))
    .flatMap(([p, byMethod]) => Object.entries(byMethod).map(([m, op]) => ({ route: `${m.toUpperCase()} ${p}`, op })))
  const settingsRoutes = [
    'GET /api/settings/state',
    'GET /api/settings/fields',
    'GET /api/settings/stats',
    'POST /api/settings/options',
    'POST /api/settings/secret/reveal',
    'POST /api/settings/secret/rotate',
    'POST /api/settings/webhook/rotate',
    'POST /api/settings/mapping',
    'POST /api/settings/preview',
    'GET /api/settings/leads',
    'GET /api/settings/card',
    'POST /api/settings/test-lead',
    'POST /api/settings/leads/resend',
    'GET /api/settings/tiktok',
    'POST /api/settings/tiktok/connect',
    'POST /api/settings/tiktok/grant',
    'POST /api/settings/tiktok/grant/cancel',
    'POST /api/settings/tiktok/forms',
    'POST /api/settings/tiktok/disconnect',
    'POST /api/settings/tiktok/check',
    'POST /api/settings/tiktok/backfill',
    'POST /api/settings/tiktok/test-lead',
    'POST /api/settings/tiktok/create-field',
    'GET /api/settings/quality',
    'POST /api/settings/quality',
    'GET /api/settings/analytics',
    'GET /api/settings/analytics.csv',
  ]
  t.same(ops.map((o) => o.route).sort(), settingsRoutes.sort(), 'every settings route is documented')
  // Downloads answer a file, not JSON: their 200 names the file's type.
  const files = new Set(['GET /api/settings/analytics.csv'])
  for (const { route, op } of ops.filter((o) => files.has(o.route)))
    t.ok(op.responses?.['200']?.content?.['text/csv'], `${route} answers text/csv`)
  for (const { route, op } of ops.filter((o) => !files.has(o.route))) {
    const schema = op.responses?.['200']?.content?.['application/json']?.schema
    t.match(schema, { type: 'object', properties: Object }, `${route} has a 200 answer schema`)
    t.equal(schema?.additionalProperties, false, `${route} lists its keys (others are dropped)`)
  }
  const answer = (route: string, method = 'get') =>
    doc.paths[route][method].responses['200'].content['application/json'].schema
  const state = answer('/api/settings/state')
  t.match(state.properties.webhook.properties.url, { description: /administrators/ }, 'who sees the webhook URL')
  t.notOk(JSON.stringify(state).includes('signing_secret'), 'the state has no secret field')
  t.match(answer('/api/settings/leads').properties, {
    leads: { type: 'array', items: { required: ['id', 'tiktokLeadId', 'status'] } },
    nextBefore: {},
  })
  t.match(answer('/api/settings/tiktok/grant', 'post').properties, { connections: { type: 'array' } })
  t.match(answer('/api/settings/leads/resend', 'post'), { required: ['ok', 'requeued'] })
})
