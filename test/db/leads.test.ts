import t from 'tap'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { createLeadRepository } from '../../src/db/repositories/leads.js'
import { incomingLead as lead, portalTableRow } from '../fixtures.js'

async function repo() {
  const { db } = openDatabase(':memory:')
  await migrateToLatest(db)
  await db.insertInto('portals').values(portalTableRow('m1')).execute()
  return { db, leads: createLeadRepository(db) }
}

const verify = { scheme: 'url-key', valid: true }

t.test('inserts from the same tick share a commit but each gets its own count, duplicates included', async (t) => {
  const { db, leads } = await repo()
  const results = await Promise.all([
    leads.insertMany('m1', [lead('1'), lead('2')], verify),
    leads.insertMany('m1', [lead('2'), lead('3')], verify),
    leads.insertMany('m1', [lead('1')], verify),
    leads.insertMany('m1', [lead('4')], verify),
  ])
  t.same(results, [2, 1, 0, 1])
  const rows = await db.selectFrom('leads').select('tiktok_lead_id').orderBy('tiktok_lead_id').execute()
  t.same(
    rows.map((r) => r.tiktok_lead_id),
    ['1', '2', '3', '4'],
  )
})

t.test('a failing request fails alone: the others of its group commit (a savepoint each)', async (t) => {
  const { db, leads } = await repo()
  const results = await Promise.allSettled([
    leads.insertMany('m1', [lead('1')], verify),
    leads.insertMany('no-such-portal', [lead('2')], verify),
    leads.insertMany('m1', [lead('3'), lead('1')], verify),
  ])
  t.same(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  )
  t.same(
    results.map((r) => (r.status === 'fulfilled' ? r.value : null)),
    [1, null, 1],
  )
  t.match((results[1] as PromiseRejectedResult).reason, { code: /SQLITE_CONSTRAINT/ })
  const rows = await db.selectFrom('leads').select(['member_id', 'tiktok_lead_id']).orderBy('tiktok_lead_id').execute()
  t.same(
    rows,
    [
      { member_id: 'm1', tiktok_lead_id: '1' },
      { member_id: 'm1', tiktok_lead_id: '3' },
    ],
    'nothing of the failed request',
  )
  t.same(
    (await Promise.allSettled([leads.insertMany('no-such-portal', [lead('4')], verify)])).map((r) => r.status),
    ['rejected'],
    'alone in its commit it fails too',
  )
  t.equal(await leads.insertMany('m1', [lead('5')], verify), 1, 'the next tick works again')
})

t.test("thousands of leads in one call are inserted in chunks under SQLite's variable limit", async (t) => {
  const { db, leads } = await repo()
  const many = Array.from({ length: 4000 }, (_, i) => lead(`big-${i}`))
  const [a, b] = await Promise.all([
    leads.insertMany('m1', many, verify),
    leads.insertMany('m1', [lead('small')], verify),
  ])
  t.equal(a, 4000)
  t.equal(b, 1)
  t.equal(
    Number(
      (await db
        .selectFrom('leads')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst())!.n,
    ),
    4001,
  )
})

t.test('claiming marks leads sending, oldest first, and only due ones', async (t) => {
  const { db, leads } = await repo()
  await leads.insertMany('m1', [lead('a'), lead('b'), lead('c')], verify, 1000)
  await db.updateTable('leads').set({ next_attempt_at: 10_000 }).where('tiktok_lead_id', '=', 'b').execute()
  const claimed = await leads.claimDue('m1', 50, 5000)
  t.same(
    claimed.map((r) => r.tiktok_lead_id),
    ['a', 'c'],
  )
  t.ok(claimed.every((r) => r.status === 'sending' && r.attempts === 1))
  t.equal(await leads.nextDueAt('m1'), 10_000)
  t.same((await leads.claimDue('m1', 50, 5000)).length, 0, 'a lead is in one batch at most')
})
