/**
 * The outbox worker's decisions, on a real SQLite with a scripted Events API:
 * - 1,500 due events of one set go in two requests (1,000 and 500), each marked sent once;
 * - TikTok refusing a batch (one wrong event) splits it: the others are sent, the wrong one is
 *   `failed` with TikTok's reason;
 * - an unknown outcome (network, 5xx) leaves every event pending, retried later with backoff,
 *   the reason kept; a second pass before the retry is due sends nothing;
 * - a revoked token or a disconnected ad account: pending with a plain reason, nothing sent;
 * - an event still pending past TikTok's 28 days is given up as too_old, never sent.
 */
import pino from 'pino'
import t from 'tap'
import type { TikTokConnection } from '../../src/db/schema.js'
import { TikTokApiError } from '../../src/errors.js'
import { createOutbox } from '../../src/quality/outbox.js'
import type { CrmEvent, EventsApi } from '../../src/tiktok-business/events-api.js'
import { DAY, NOW, setup } from './db.js'

type Script = (events: CrmEvent[]) => void

async function world(script: Script = () => undefined) {
  const s = await setup()
  let at = NOW
  const calls: Array<{ token: string; eventSetId: string; events: CrmEvent[] }> = []
  const events: EventsApi = {
    listCrmEventSets: async () => [],
    track: async (token, eventSetId, list) => {
      calls.push({ token, eventSetId, events: list })
      script(list)
    },
  }
  const outbox = createOutbox({
    repo: s.repo,
    events,
    connection: async (id) =>
      (await s.db.selectFrom('tiktok_connections').selectAll().where('advertiser_id', '=', id).executeTakeFirst()) as
        | TikTokConnection
        | undefined,
    openToken: (sealed) => `token-of-${sealed}`,
    log: pino({ level: 'silent' }),
    clock: { now: () => at },
    backoff: { baseMs: 1000, maxMs: 60_000, random: () => 0 },
  })
  /** n leads of adv1 at IN_PROCESS: n pending Contacted events */
  const queue = async (n: number, movedAt = NOW - 60_000) => {
    const ids: number[] = []
    for (let i = 0; i < n; i++) {
      const l = await s.lead(`75${String(i).padStart(5, '0')}`, 'adv1')
      await s.repo.recordStages('m1', 'lead', [{ b24Id: l.b24Id, stageId: 'IN_PROCESS', semantic: 'P', movedAt }], at)
      ids.push(l.id)
    }
    return ids
  }
  const rows = () => s.db.selectFrom('tiktok_event_outbox').selectAll().orderBy('id').execute()
  return { ...s, outbox, calls, queue, rows, advance: (ms: number) => (at += ms) }
}

t.test('1,500 due events: two requests of at most 1,000, each event sent once', async (t) => {
  const w = await world()
  await w.queue(1500)
  t.same(await w.outbox.pass(), { sent: 1500, retried: 0, failed: 0, tooOld: 0 })
  t.same(
    w.calls.map((c) => [c.eventSetId, c.token, c.events.length]),
    [
      ['set1', 'token-of-x', 1000],
      ['set1', 'token-of-x', 500],
    ],
  )
  t.equal(new Set(w.calls.flatMap((c) => c.events.map((e) => e.eventId))).size, 1500, 'no event in two requests')
  t.ok((await w.rows()).every((r) => r.status === 'sent' && r.sent_at === NOW && r.attempts === 1))
  t.same(await w.outbox.pass(), { sent: 0, retried: 0, failed: 0, tooOld: 0 }, 'nothing left')
})

t.test('a refused batch is split: the good events go, the wrong one fails with the reason', async (t) => {
  const w = await world((list) => {
    if (list.some((e) => e.leadId === '7500001'))
      throw new TikTokApiError(40002, 'bad_request', 'event/track', 'TikTok event/track: refused (data[1].event)')
  })
  await w.queue(3)
  t.same(await w.outbox.pass(), { sent: 2, retried: 0, failed: 1, tooOld: 0 })
  t.same(
    w.calls.map((c) => c.events.length),
    [3, 1, 1, 1],
    'the batch, then each alone',
  )
  t.match(
    (await w.rows()).map((r) => [r.status, r.last_error]),
    [
      ['sent', null],
      ['failed', /refused/],
      ['sent', null],
    ],
  )
})

t.test('an unknown outcome: all pending, retried after the backoff, the reason kept', async (t) => {
  let down = true
  const w = await world(() => {
    if (down) throw new TikTokApiError(0, 'transient', 'event/track', 'TikTok event/track: no usable answer (HTTP 503)')
  })
  await w.queue(2)
  t.same(await w.outbox.pass(), { sent: 0, retried: 2, failed: 0, tooOld: 0 })
  t.match(await w.rows(), [
    { status: 'pending', attempts: 1, next_attempt_at: NOW + 500, last_error: /HTTP 503/ },
    { status: 'pending', attempts: 1, next_attempt_at: NOW + 500 },
  ])
  t.same(await w.outbox.pass(), { sent: 0, retried: 0, failed: 0, tooOld: 0 }, 'not due yet: nothing sent')
  t.equal(w.calls.length, 1)
  w.advance(500)
  t.same(await w.outbox.pass(), { sent: 0, retried: 2, failed: 0, tooOld: 0 })
  t.match(await w.rows(), [{ attempts: 2, next_attempt_at: NOW + 500 + 1000 }], 'the wait doubles')
  down = false
  w.advance(1000)
  t.same(await w.outbox.pass(), { sent: 2, retried: 0, failed: 0, tooOld: 0 })
  t.match(await w.rows(), [{ status: 'sent', last_error: null }, { status: 'sent' }])
})

t.test('a revoked token or a disconnected ad account: pending with a plain reason, nothing sent', async (t) => {
  const w = await world()
  await w.queue(1)
  await w.db
    .updateTable('tiktok_connections')
    .set({ status: 'token_invalid' })
    .where('advertiser_id', '=', 'adv1')
    .execute()
  t.same(await w.outbox.pass(), { sent: 0, retried: 1, failed: 0, tooOld: 0 })
  t.match(await w.rows(), [{ status: 'pending', last_error: /token.*connect the ad account again/ }])
  await w.db.deleteFrom('tiktok_forms').execute()
  await w.db.deleteFrom('tiktok_connections').where('advertiser_id', '=', 'adv1').execute()
  w.advance(60_000)
  t.same(await w.outbox.pass(), { sent: 0, retried: 1, failed: 0, tooOld: 0 })
  t.match(await w.rows(), [{ status: 'pending', last_error: /not connected/ }])
  t.equal(w.calls.length, 0)
})

t.test('still pending past 28 days: too_old, never sent', async (t) => {
  const w = await world(() => {
    throw new TikTokApiError(0, 'transient', 'event/track', 'TikTok event/track: timed out')
  })
  await w.queue(1, NOW - 27 * DAY)
  t.same(await w.outbox.pass(), { sent: 0, retried: 1, failed: 0, tooOld: 0 })
  w.advance(2 * DAY)
  t.same(await w.outbox.pass(), { sent: 0, retried: 0, failed: 0, tooOld: 1 })
  t.match(await w.rows(), [{ status: 'too_old', last_error: /28 days/ }])
  t.equal(w.calls.length, 1, 'only the try inside the window')
})
