import t from 'tap'
import { ConfigError, configWarnings, loadConfig } from '../src/config.js'

t.test('no environment at all gives working defaults and a credentials warning', async (t) => {
  const c = loadConfig({})
  t.equal(c.PORT, 3000)
  t.equal(c.DATABASE_PATH, './data/app.sqlite')
  t.equal(c.B24_OAUTH_URL, 'https://oauth.bitrix.info')
  t.match(configWarnings(c).join('\n'), /B24_CLIENT_ID/)
})

t.test('empty strings mean unset', async (t) => {
  t.equal(loadConfig({ PORT: '' }).PORT, 3000)
})

t.test('bad values are all reported, one readable line each', async (t) => {
  const err = t.throws(() =>
    loadConfig({ PORT: '70000', B24_OAUTH_URL: 'not a url', LOG_LEVEL: 'loud' }),
  ) as ConfigError
  t.ok(err instanceof ConfigError)
  t.equal(err.issues.length, 3)
  t.match(err.message, /PORT/)
  t.match(err.message, /B24_OAUTH_URL/)
  t.match(err.message, /LOG_LEVEL/)
})

t.test('a short SESSION_SECRET is refused', async (t) => {
  t.throws(() => loadConfig({ SESSION_SECRET: 'short' }), /SESSION_SECRET/)
})
