/**
 * Finding (a mutation that survived the whole suite): answering the webhook before its transaction
 * commits. TikTok's 200 must mean "stored": a lead acknowledged but rolled back is lost for good,
 * since TikTok never sends it again. Here COMMIT itself fails (a trigger writes a row whose deferred
 * foreign key can never be satisfied, so every statement succeeds and only COMMIT is refused): the
 * webhook must answer 5xx and store nothing. An intake that answers before the commit, or a group
 * commit that resolves a request when its savepoint is released, gets 200 here and fails.
 */
import t from 'tap'
import { sql } from 'kysely'
import { installedPortal, startApp, startEmulator } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'

t.test('a failing COMMIT answers 5xx and stores nothing; the 200 comes only after COMMIT', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu, autoStartDelivery: false })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!

  await sql`create table commit_guard_parent (id integer primary key)`.execute(app.db)
  await sql`create table commit_guard (parent integer references commit_guard_parent(id) deferrable initially deferred)`.execute(
    app.db,
  )
  await sql`create trigger fail_commit after insert on leads begin insert into commit_guard values (1); end`.execute(
    app.db,
  )

  const lone = sampleLead()
  const res = await postWebhook(url, conf.webhook_key, notificationBody([lone]), { secret: conf.signing_secret })
  t.ok(res.status >= 500, `a failed commit is not acknowledged (got ${res.status})`)

  // Several requests in one group commit: all of them fail with it.
  const group = await Promise.all(
    [1, 2, 3].map(() =>
      postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { secret: conf.signing_secret }),
    ),
  )
  t.ok(
    group.every((r) => r.status >= 500),
    `every request of the failed commit: ${group.map((r) => r.status).join(',')}`,
  )
  t.same(await app.db.selectFrom('leads').selectAll().execute(), [], 'nothing stored')
  t.same(
    await app.db
      .selectFrom('commit_guard' as never)
      .selectAll()
      .execute(),
    [],
    'the whole transaction rolled back',
  )

  await sql`drop trigger fail_commit`.execute(app.db)
  const again = await postWebhook(url, conf.webhook_key, notificationBody([lone]), { secret: conf.signing_secret })
  t.equal(again.status, 200, "TikTok's retry is stored once the database commits again")
  t.match(await again.json(), { stored: 1 })
})
