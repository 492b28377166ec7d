/**
 * The stage read and its TikTok event in one transaction (quality repository), on a real SQLite:
 * - a replay of the same change (the same offline event read twice, a restart re-reading a batch)
 *   queues nothing new: the outbox is unique on TikTok's dedup triple;
 * - the app's own test leads (TikTok does not know them) queue nothing and are counted as skipped;
 * - a change older than 28 days is stored as too_old, never pending;
 * - first contact: not for a first read at the initial stage, yes for a move, kept afterwards;
 * - a lead of an ad account with no event set chosen queues nothing.
 */
import t from 'tap'
import { DAY, NOW, setup } from './db.js'

const read = (b24Id: number, stageId: string, movedAt: number | null = NOW - 60_000) => ({
  b24Id,
  stageId,
  semantic: 'P' as const,
  movedAt,
})

t.test('a replayed change queues nothing new', async (t) => {
  const { db, repo, lead } = await setup()
  const a = await lead('7001', 'adv1')
  t.same(await repo.recordStages('m1', 'lead', [read(a.b24Id, 'IN_PROCESS')], NOW), {
    queued: 1,
    tooOld: 0,
    skippedTest: 0,
  })
  t.same(await repo.recordStages('m1', 'lead', [read(a.b24Id, 'IN_PROCESS')], NOW + 1000), {
    queued: 0,
    tooOld: 0,
    skippedTest: 0,
  })
  const rows = await db.selectFrom('tiktok_event_outbox').selectAll().execute()
  t.match(rows, [
    {
      lead_id: a.id,
      advertiser_id: 'adv1',
      event_set_id: 'set1',
      event: 'Contacted',
      event_id: '7001-Contacted',
      event_time: Math.floor((NOW - 60_000) / 1000),
      status: 'pending',
    },
  ])
  t.equal(rows.length, 1)
})

t.test("the app's own test leads and ad accounts without an event set queue nothing", async (t) => {
  const { db, repo, lead } = await setup()
  const test = await lead('test-1', 'adv1', true)
  const noSet = await lead('7002', 'adv2')
  const r = await repo.recordStages('m1', 'lead', [read(test.b24Id, 'PROCESSED'), read(noSet.b24Id, 'PROCESSED')], NOW)
  t.same(r, { queued: 0, tooOld: 0, skippedTest: 1 })
  t.same(await db.selectFrom('tiktok_event_outbox').selectAll().execute(), [])
  const stages = await db.selectFrom('leads').select(['b24_stage_id', 'first_contact_at']).orderBy('id').execute()
  t.same(
    stages,
    [
      { b24_stage_id: 'PROCESSED', first_contact_at: NOW - 60_000 },
      { b24_stage_id: 'PROCESSED', first_contact_at: NOW - 60_000 },
    ],
    'their stage and first contact are stored all the same',
  )
})

t.test('older than 28 days: too_old, never pending; exactly 28 days is still sent', async (t) => {
  const { db, repo, lead } = await setup()
  const old = await lead('7003', 'adv1')
  const edge = await lead('7004', 'adv1')
  const r = await repo.recordStages(
    'm1',
    'lead',
    [read(old.b24Id, 'PROCESSED', NOW - 28 * DAY - 1000), read(edge.b24Id, 'PROCESSED', NOW - 28 * DAY)],
    NOW,
  )
  t.same(r, { queued: 1, tooOld: 1, skippedTest: 0 })
  const rows = await db
    .selectFrom('tiktok_event_outbox')
    .select(['event_id', 'status', 'last_error'])
    .orderBy('id')
    .execute()
  t.match(rows, [
    { event_id: '7003-Qualified', status: 'too_old', last_error: /28 days/ },
    { event_id: '7004-Qualified', status: 'pending', last_error: null },
  ])
  t.same(
    (await repo.due(NOW, 10)).map((e) => e.event_id),
    ['7004-Qualified'],
    'only the one in the window is due',
  )
  const views = await repo.eventsOfLeads([old.id])
  t.match(views.get(old.id), [
    { event: 'Qualified', status: 'too_old', at: new Date(NOW - 28 * DAY - 1000).toISOString() },
  ])
})

t.test('first contact: not at the initial stage, set by the first move, kept after', async (t) => {
  const { db, repo, lead } = await setup()
  const a = await lead('7005', 'adv1')
  const contact = async () =>
    (await db.selectFrom('leads').select('first_contact_at').where('id', '=', a.id).executeTakeFirstOrThrow())
      .first_contact_at
  await repo.recordStages('m1', 'lead', [read(a.b24Id, 'NEW', NOW - 5000)], NOW)
  t.equal(await contact(), null, 'a first read at NEW (another field edited) is no contact')
  await repo.recordStages('m1', 'lead', [read(a.b24Id, 'IN_PROCESS', NOW - 4000)], NOW)
  t.equal(await contact(), NOW - 4000)
  await repo.recordStages('m1', 'lead', [read(a.b24Id, 'PROCESSED', NOW - 1000)], NOW)
  t.equal(await contact(), NOW - 4000, 'the first one stays')
  await repo.recordStages('m1', 'lead', [read(a.b24Id, 'CONVERTED', null)], NOW + 5)
  t.equal(await contact(), NOW - 4000)
})
