/**
 * A full disk logged "cannot rollback - no transaction is active" instead of SQLITE_FULL. SQLite
 * rolls a transaction back by itself after SQLITE_FULL; kysely then sent ROLLBACK anyway, its
 * failure replaced the real error, and the log blamed our code. Now a rollback with no open
 * transaction is skipped, the original SQLITE_FULL reaches the caller and the log, and the webhook
 * answers 503 with Retry-After (TikTok retries; nothing was stored). The disk is "filled" with a
 * max_page_count just above the file's size.
 */
import t from 'tap'
import { sql } from 'kysely'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { installedPortal, logCapture, startApp, startEmulator, tempDbPath } from '../helpers.js'

t.test(
  'a full disk is logged as SQLITE_FULL and answered 503, and a transaction rejects with the real cause',
  async (t) => {
    const emu = await startEmulator(t)
    const logs = logCapture()
    const { app, url, database } = await startApp(t, {
      emu,
      config: { DATABASE_PATH: tempDbPath() },
      logs: logs.stream,
    })
    const portal = await installedPortal(emu, url)
    const conf = (await app.settings.find(portal.memberId))!
    const pages = Number(database.sqlite.pragma('page_count', { simple: true }))
    database.sqlite.pragma(`max_page_count = ${pages + 1}`)

    // Straight through kysely: the transaction rejects with SQLITE_FULL, not the failed ROLLBACK.
    const err = await app.db
      .transaction()
      .execute(async (trx) => {
        await sql`insert into portal_events (member_id, event, payload, received_at) values (${portal.memberId}, 'X', ${'x'.repeat(200_000)}, '')`.execute(
          trx,
        )
      })
      .then(
        () => null,
        (e: unknown) => e as { code?: string; message?: string },
      )
    t.equal(err?.code, 'SQLITE_FULL', `the transaction rejects with ${err?.code}: ${err?.message}`)
    t.notOk(database.sqlite.inTransaction)

    const before = logs.lines.length
    const leads = Array.from({ length: 50 }, () => sampleLead({ extra: { notes: 'x'.repeat(3000) } }))
    const res = await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
    t.equal(res.status, 503, 'the webhook is 503 so TikTok retries')
    t.ok(Number(res.headers.get('retry-after')) > 0, 'with Retry-After')
    t.match(await res.json(), { error: 'APP_ERR_DB_UNAVAILABLE' })
    const logged = logs.lines.slice(before).join('')
    t.match(logged, /SQLITE_FULL/, 'the log names SQLITE_FULL')
    t.notMatch(logged, /cannot rollback/, 'not the failed rollback')
    t.equal((await app.leads.counts(portal.memberId)).received, 0, 'nothing stored')

    // Room again: the same request is stored.
    database.sqlite.pragma('max_page_count = 1073741823')
    const retry = await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
    t.equal(retry.status, 200)
  },
)
