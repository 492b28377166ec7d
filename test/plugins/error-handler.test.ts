import Fastify from 'fastify'
import pino from 'pino'
import t from 'tap'
import { Errors } from '../../src/errors.js'
import errorHandler from '../../src/plugins/error-handler.js'
import { logCapture, type Teardown } from '../helpers.js'

// Clients see an error's words only below 500. From 500 up they get the catalogue's fixed phrase
// and the real error goes to the log with its request: a thrown message may carry anything. The
// exception is an entry marked `expose`, whose detail is Bitrix24's or TikTok's own reason.

async function appWith(t: Teardown, route: () => never) {
  const logs = logCapture()
  const app = Fastify({ loggerInstance: pino({ level: 'info' }, logs.stream) })
  await app.register(errorHandler)
  app.get('/boom', route)
  t.teardown(() => app.close())
  return { app, logs }
}

const SECRET = 'sk_live_0123456789abcdef'

t.test('an unexpected error answers 500 with the fixed phrase and is logged with its route', async (t) => {
  const { app, logs } = await appWith(t, () => {
    throw new Error(`connect failed for postgres://admin:${SECRET}@db/app`)
  })
  const res = await app.inject('/boom')
  t.equal(res.statusCode, 500)
  t.same(res.json(), { error: Errors.internal.code, message: Errors.internal().phrase })
  t.notOk(res.body.includes(SECRET), 'the message stays out of the answer')
  const logged = logs.lines.map((l) => JSON.parse(l)).find((l) => l.level === 50)
  t.match(logged, { route: '/boom', method: 'GET', err: { message: new RegExp(SECRET) } }, 'and is in the log')
})

t.test('an app error from 500 up shows its phrase, not its detail', async (t) => {
  const { app } = await appWith(t, () => {
    throw Errors.databaseUnavailable(`SQLITE_IOERR at /secret/${SECRET}.sqlite`)
  })
  const res = await app.inject('/boom')
  t.equal(res.statusCode, 503)
  t.same(res.json(), { error: 'APP_ERR_DB_UNAVAILABLE', message: Errors.databaseUnavailable().phrase })
})

t.test("an exposed entry from 500 up (another platform's reason) shows its detail", async (t) => {
  const { app } = await appWith(t, () => {
    throw Errors.tiktokUpstream('Access token is incorrect or has been revoked (code 40105)')
  })
  const res = await app.inject('/boom')
  t.equal(res.statusCode, 502)
  t.same(res.json(), {
    error: 'APP_ERR_TIKTOK_UPSTREAM',
    message: `${Errors.tiktokUpstream().phrase}: Access token is incorrect or has been revoked (code 40105)`,
  })
})

t.test('below 500 the detail is shown, with any extra fields', async (t) => {
  const { app } = await appWith(t, () => {
    throw Errors.mappingInvalid(['UF_CRM_NOPE is not a field'])
  })
  const res = await app.inject('/boom')
  t.equal(res.statusCode, 400)
  t.match(res.json(), {
    error: 'APP_ERR_MAPPING_INVALID',
    message: /UF_CRM_NOPE/,
    errors: ['UF_CRM_NOPE is not a field'],
  })
})

t.test('a 4xx from elsewhere keeps its status and code', async (t) => {
  const { app } = await appWith(t, () => {
    throw Object.assign(new Error('nope'), { statusCode: 418, code: 'FST_ERR_TEAPOT' })
  })
  const res = await app.inject('/boom')
  t.equal(res.statusCode, 418)
  t.match(res.json(), { error: 'FST_ERR_TEAPOT' })
})

t.test('unknown routes are APP_ERR_NOT_FOUND', async (t) => {
  const { app } = await appWith(t, () => {
    throw new Error('unused')
  })
  const res = await app.inject('/nowhere')
  t.equal(res.statusCode, 404)
  t.match(res.json(), { error: Errors.notFound.code })
})
