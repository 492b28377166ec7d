import t from 'tap'
import { sql } from 'kysely'
import { BUSY_TIMEOUT_MS } from '../src/db/database.js'
import { startApp } from './helpers.js'

t.test('/health and /ready answer when the database is migrated', async (t) => {
  const { app } = await startApp(t)
  t.same((await app.inject('/health')).json(), { status: 'ok' })
  const ready = await app.inject('/ready')
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready' })
})

t.test('/ready is 503 when a migration is missing', async (t) => {
  const { app } = await startApp(t)
  await sql`delete from kysely_migration where name = '0002_leads'`.execute(app.db)
  const ready = await app.inject('/ready')
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { status: 'not_ready', reason: /migrations/ })
})

t.test(
  'the database runs in WAL mode with foreign keys and a short busy timeout (it blocks the event loop)',
  async (t) => {
    const { database } = await startApp(t, { config: { DATABASE_PATH: (await import('./helpers.js')).tempDbPath() } })
    t.equal(database.sqlite.pragma('journal_mode', { simple: true }), 'wal')
    t.equal(database.sqlite.pragma('foreign_keys', { simple: true }), 1)
    t.equal(database.sqlite.pragma('busy_timeout', { simple: true }), BUSY_TIMEOUT_MS)
    t.ok(BUSY_TIMEOUT_MS <= 50)
  },
)
