import t from 'tap'
import { readWebEntry } from '../src/settings/web-entry.js'
import { startApp } from './helpers.js'

// The pages' files and the SDK bundle at /static/, with their types and caching; nothing else.
t.test('the pages files are served with their types and an hour of caching', async (t) => {
  const { app } = await startApp(t)
  const cases: Array<[string, string]> = [
    ['/static/tiktok-callback.js', 'application/javascript; charset=utf-8'],
    ['/static/b24jssdk.js', 'application/javascript; charset=utf-8'],
  ]
  for (const [url, type] of cases) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['content-type'], type, `${url}: type`)
    t.equal(res.headers['cache-control'], 'public, max-age=3600', `${url}: caching`)
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${url}: nosniff`)
    t.ok(res.headers.etag, `${url}: etag`)
    t.ok(res.body.length > 100, `${url}: content`)
  }
  const versioned = await app.inject('/static/b24jssdk.js?v=abc')
  t.equal(versioned.statusCode, 200, 'the settings tab asks with ?v=')
})

t.test("the settings tab's build is served with its types and cached for good (hashed names)", async (t) => {
  const { app } = await startApp(t)
  const entry = readWebEntry()
  t.ok(entry.styles.length > 0, 'the entry has styles')
  const cases: Array<[string, string]> = [
    [entry.script, 'application/javascript; charset=utf-8'],
    ...entry.styles.map((href): [string, string] => [href, 'text/css; charset=utf-8']),
  ]
  for (const [url, type] of cases) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['content-type'], type, `${url}: type`)
    t.match(res.headers['cache-control'], /max-age=31536000.*immutable/, `${url}: a year, never revalidated`)
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${url}: nosniff`)
  }
})

t.test('nothing outside those files is reachable', async (t) => {
  const { app, url } = await startApp(t)
  for (const path of [
    '/static/',
    '/static/../package.json',
    '/static/%2e%2e/package.json',
    '/static/..%2f..%2fpackage.json',
    '/static/%2e%2e%2fsettings.eta',
    '/static/settings.eta',
    '/static/assets/tiktok-callback.js',
    '/static/web/.vite/manifest.json',
    '/static/web/assets/%2e%2e/.vite/manifest.json',
    '/static/index.min.js',
    '/static/.env',
  ]) {
    const res = await app.inject(path)
    t.equal(res.statusCode, 404, path)
  }
  // A real socket too: fetch normalises ../, so send the raw path.
  const { request } = await import('node:http')
  const status = await new Promise<number>((resolve, reject) => {
    const u = new URL(url)
    request({ host: u.hostname, port: u.port, path: '/static/../../package.json' }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
      .on('error', reject)
      .end()
  })
  t.equal(status, 404, 'raw ../ over a socket')
})
