/**
 * With PUBLIC_URL unset, the Host header decided the handler URLs bound at install and the webhook
 * URL shown (`Host: attacker.example` showed an attacker's URL). Production now refuses to start
 * without PUBLIC_URL, and no URL is ever built from a Host header.
 */
import { request as httpRequest } from 'node:http'
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { startApp, startEmulator } from '../helpers.js'

t.test('production without PUBLIC_URL does not start, with one clear line', async (t) => {
  for (const env of [{ NODE_ENV: 'production' }, { B24_CLIENT_ID: 'app.1', B24_CLIENT_SECRET: 'secret' }]) {
    const err = t.throws(() => loadConfig(env)) as ConfigError
    t.ok(err instanceof ConfigError, JSON.stringify(env))
    t.equal(err.issues.length, 1)
    t.match(err.issues[0], /^PUBLIC_URL: required in production/)
  }
  t.ok(loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://leads.example.com' }), 'with PUBLIC_URL it starts')
  t.ok(loadConfig({}), 'development (no credentials, no NODE_ENV) starts without it')
})

/** POST with a Host header of our choosing (fetch does not let one set Host). */
function postWithHost(
  url: string,
  path: string,
  host: string,
  body: string,
): Promise<{ status: number; body: string }> {
  const u = new URL(path, url)
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        hostname: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: 'POST',
        headers: {
          host,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let data = ''
        res.on('data', (c) => (data += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

// Offline bindings have no handler (events/offline-events.md): only online ones name a URL.
t.test('a Host header never decides the handlers bound at install or the webhook URL shown', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = emu.createPortal()
  const tokens = portal.issueToken(1)
  const install = await postWithHost(
    url,
    `/bitrix24/install?DOMAIN=${encodeURIComponent(portal.domain)}&LANG=en`,
    'attacker.example',
    new URLSearchParams({
      AUTH_ID: tokens.access_token,
      AUTH_EXPIRES: '3600',
      REFRESH_ID: tokens.refresh_token,
      member_id: portal.memberId,
    }).toString(),
  )
  t.equal(install.status, 200)
  const handlers = [
    ...portal.placements.map((p) => p.HANDLER),
    ...portal.events.filter((e) => e.event_type !== 'offline').map((e) => e.handler),
  ]
  t.ok(handlers.length > 0, 'handlers were bound')
  for (const h of handlers) t.ok(h.startsWith(`${url}/`), `bound at the server's own address: ${h}`)
  t.notOk(handlers.some((h) => h.includes('attacker.example')))

  const page = await postWithHost(
    url,
    `/bitrix24/placement?DOMAIN=${encodeURIComponent(portal.domain)}&LANG=en`,
    'attacker.example',
    new URLSearchParams({ AUTH_ID: portal.issueToken(1).access_token, member_id: portal.memberId }).toString(),
  )
  t.equal(page.status, 200)
  const conf = (await app.settings.find(portal.memberId))!
  t.ok(page.body.includes(`${url}/tiktok/webhook/${conf.webhook_key}`), "the webhook URL shown is the server's own")
  t.notOk(page.body.includes('attacker.example'))
})

t.test('with PUBLIC_URL set, it alone decides', async (t) => {
  const emu = await startEmulator(t)
  const { url } = await startApp(t, { emu, config: { PUBLIC_URL: 'https://leads.example.com' } })
  const portal = emu.createPortal()
  const tokens = portal.issueToken(1)
  await postWithHost(
    url,
    `/bitrix24/install?LANG=en`,
    'attacker.example',
    new URLSearchParams({
      AUTH_ID: tokens.access_token,
      REFRESH_ID: tokens.refresh_token,
      member_id: portal.memberId,
    }).toString(),
  )
  const handlers = [
    ...portal.placements.map((p) => p.HANDLER),
    ...portal.events.filter((e) => e.event_type !== 'offline').map((e) => e.handler),
  ]
  t.ok(handlers.length > 0 && handlers.every((h) => h.startsWith('https://leads.example.com/')))
})
