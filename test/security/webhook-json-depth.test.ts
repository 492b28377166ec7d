/**
 * Finding: an answer holding a 50,000-deep array answered 500: the body parsed, then code walking
 * the answer recursively overflowed the stack. The big-int-safe parser now refuses nesting deeper
 * than 64 levels before parsing, and the webhook answers 400 with nothing stored.
 */
import t from 'tap'
import { installedPortal, startApp, startEmulator } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'

t.test('a 50,000-deep array inside an answer is a 400, not a 500', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu, autoStartDelivery: false })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!

  const deep = '['.repeat(50_000) + ']'.repeat(50_000)
  const body = `{"object":1,"entry":[{"id":"7212345678901234001","changes":[{"field":"budget","value":${deep}}]}]}`
  const res = await postWebhook(url, conf.webhook_key, body, { secret: conf.signing_secret })
  t.equal(res.status, 400)
  t.match(await res.json(), { error: 'APP_ERR_BAD_REQUEST', message: /nest/ })
  t.same(await app.leads.latest(portal.memberId, { limit: 10 }), [], 'nothing stored')

  const objects = `{"object":1,"entry":[{"id":"7212345678901234002","changes":[{"field":"x","value":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}]}]}`
  t.equal(
    (await postWebhook(url, conf.webhook_key, objects, { secret: conf.signing_secret })).status,
    400,
    'deep objects too',
  )

  const ok = await postWebhook(
    url,
    conf.webhook_key,
    notificationBody([sampleLead({ extra: { list: '[[["not nesting"]]]' } })]),
    { secret: conf.signing_secret },
  )
  t.equal(ok.status, 200, 'a normal lead (brackets inside strings) still passes')
})
