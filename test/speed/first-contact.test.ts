/**
 * Time to first contact counts completed activities too (issue 10: "from delivery to the first
 * stage change or completed activity"), end to end against the emulated portal over HTTP:
 * - the to-do the app made rides in the lead's batch; a person ticks it off before anyone moves
 *   the lead: the offline ONCRMACTIVITYUPDATE is collected and first contact is its completion
 *   (LAST_UPDATED); a later stage move keeps it;
 * - a call logged afterwards that ended before the move: first contact is the earlier of the two
 *   (the call's END_TIME);
 * - the activities of a whole offline round are read with one crm.activity.list, in the same
 *   `batch` as the round's stage read: no request per lead; an open to-do or one of a lead that
 *   is not ours changes nothing;
 * - simple CRM mode: the deal's to-do.
 * The emulated portal's clock runs ahead of the app's by `skew`, so "a person, minutes later" is
 * a real gap without waiting.
 * @see https://apidocs.bitrix24.com/api-reference/crm/timeline/activities/events/on-crm-activity-update.html
 * @see https://apidocs.bitrix24.com/api-reference/crm/timeline/activities/activity-base/crm-activity-list.html
 */
import t from 'tap'
import type { Lead } from '../../src/db/schema.js'
import type { Emulator, Portal } from '../emulator/index.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { api, installedPortal, openTab, startApp, startEmulator, waitFor, type Teardown } from '../helpers.js'

const MIN = 60_000
/** LAST_UPDATED / END_TIME as the app reads them: the portal prints whole seconds. */
const toSecond = (ms: number) => Math.floor(ms / 1000) * 1000

async function setUp(t: Teardown, opts: { crmMode?: 1 | 2 } = {}) {
  let skew = 0
  const emu = await startEmulator(t, { now: () => Date.now() + skew })
  const started = await startApp(t, { emu })
  const portal = await installedPortal(emu, started.url, opts.crmMode ? { crmMode: opts.crmMode } : undefined)
  const conf = (await started.app.settings.find(portal.memberId))!
  await started.app.settings.update(portal.memberId, { todo_minutes: 30, todo_pings: [0] })
  return {
    emu,
    portal,
    conf,
    ...started,
    /** the portal's clock, minutes after the app's */
    later: (minutes: number) => {
      skew = minutes * MIN
    },
    collect: () => started.app.offlineEvents.runOnce(),
  }
}

type Started = Awaited<ReturnType<typeof setUp>>

async function deliver(s: Started, n: number): Promise<Lead[]> {
  const leads = Array.from({ length: n }, (_, i) => sampleLead({ name: `Lead ${i + 1}` }))
  const res = await postWebhook(s.url, s.conf.webhook_key, notificationBody(leads), { secret: s.conf.signing_secret })
  if (res.status !== 200) throw new Error(`webhook ${res.status}`)
  const rows = () =>
    s.database.db
      .selectFrom('leads')
      .selectAll()
      .where('member_id', '=', s.portal.memberId)
      .where(
        'tiktok_lead_id',
        'in',
        leads.map((l) => l.id),
      )
      .orderBy('id')
      .execute()
  await waitFor(`${n} delivered`, async () => (await rows()).every((r) => r.status === 'delivered'), 20_000)
  return rows()
}

const rowOf = async (s: Started, id: number) => (await s.app.leads.find(s.portal.memberId, id))!

/** The to-do the app made with the lead (its id came back through the batch's `$result`). */
function todoOf(s: Started, row: Lead) {
  const [todo] = s.portal.activities(row.b24_entity === 'deal' ? 2 : 1, row.b24_lead_id!)
  if (!todo) throw new Error(`no to-do on ${row.b24_entity} ${row.b24_lead_id}`)
  return todo
}

/** Top-level requests to this portal since `from` (an index into emu.calls), adoption look-ups aside. */
const requestsSince = (emu: Emulator, portal: Portal, from: number) =>
  emu.calls
    .slice(from)
    .filter((c) => c.memberId === portal.memberId && !c.inBatch && c.method !== 'event.offline.list')
    .map((c) => c.method)

t.test('a to-do completed before any stage change: first contact is its completion', async (t) => {
  const s = await setUp(t)
  const [row] = await deliver(s, 1)
  const todo = todoOf(s, row!)
  t.equal(row!.first_contact_at, null)

  s.later(7)
  s.emu.completeActivity(s.portal, todo.id, { userId: 2 })
  const completedAt = s.portal.activities(1, row!.b24_lead_id!)[0]!.updatedAt
  const drained = await s.collect()
  t.match(drained[s.portal.memberId], { contacts: 1, stages: 0 })
  const after = await rowOf(s, row!.id)
  t.equal(after.first_contact_at, toSecond(completedAt), 'first contact: when the to-do was ticked off')
  t.ok(after.first_contact_at! - after.done_at! > 6 * MIN, 'about seven minutes after delivery')
  t.equal(after.b24_stage_id, null, 'no stage was read: nobody moved it')

  const tab = api(s.url, await openTab(s.url, s.portal))
  const page = (await (await tab.get('leads?limit=10')).json()) as {
    leads: Array<{ id: number; firstContactMs: number }>
  }
  t.equal(
    page.leads.find((l) => l.id === row!.id)?.firstContactMs,
    after.first_contact_at! - after.done_at!,
    'the delivery log shows the time to first contact',
  )

  s.later(12)
  s.emu.moveLead(s.portal, row!.b24_lead_id!, 'IN_PROCESS', { userId: 2 })
  await s.collect()
  const moved = await rowOf(s, row!.id)
  t.equal(moved.b24_stage_id, 'IN_PROCESS')
  t.equal(moved.first_contact_at, toSecond(completedAt), 'a later stage change keeps the earlier contact')
})

t.test('a call logged after a move but made before it: first contact is the earlier of the two', async (t) => {
  const s = await setUp(t)
  const [row] = await deliver(s, 1)
  s.later(10)
  s.emu.moveLead(s.portal, row!.b24_lead_id!, 'IN_PROCESS', { userId: 2 })
  await s.collect()
  const movedAt = Date.parse(String(s.portal.leads.get(row!.b24_lead_id!)?.MOVED_TIME))
  t.equal((await rowOf(s, row!.id)).first_contact_at, movedAt, 'the move first')

  s.later(12)
  const now = Date.now() + 12 * MIN
  const endedAt = now - 8 * MIN
  s.emu.logCall(
    s.portal,
    { ownerTypeId: 1, ownerId: row!.b24_lead_id!, startedAt: endedAt - 3 * MIN, endedAt },
    { userId: 2 },
  )
  const drained = await s.collect()
  t.match(drained[s.portal.memberId], { contacts: 1 })
  t.equal((await rowOf(s, row!.id)).first_contact_at, toSecond(endedAt), 'the call ended before the move')
})

t.test('one offline round: every activity in one crm.activity.list, beside the stage read in one batch', async (t) => {
  const s = await setUp(t)
  const rows = await deliver(s, 3)
  const todos = rows.map((r) => todoOf(s, r))
  // A lead a person made, with a to-do of its own: not ours.
  const admin = s.portal.issueToken(1).access_token
  const rest = async (method: string, params: Record<string, unknown>, token = admin) =>
    (
      (await (
        await fetch(`${s.portal.clientEndpoint}${method}.json`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...params, auth: token }),
        })
      ).json()) as { result: unknown }
    ).result
  const walkIn = (await rest('crm.lead.add', { fields: { TITLE: 'walk-in' } })) as number
  const foreign = (
    (await rest('crm.activity.todo.add', { ownerTypeId: 1, ownerId: walkIn, deadline: '2030-01-01' })) as {
      id: number
    }
  ).id
  await s.collect()

  s.later(5)
  for (const todo of todos.slice(0, 2)) s.emu.completeActivity(s.portal, todo.id, { userId: 2 })
  s.emu.completeActivity(s.portal, foreign, { userId: 2 })
  // The third to-do is only renamed by its responsible: an update, not a completion.
  await rest(
    'crm.activity.update',
    { id: todos[2]!.id, fields: { SUBJECT: 'Call after 5 pm' } },
    s.portal.issueToken(2).access_token,
  )
  s.emu.moveLead(s.portal, rows[2]!.b24_lead_id!, 'IN_PROCESS', { userId: 2 })

  const from = s.emu.calls.length
  const drained = await s.collect()
  t.match(drained[s.portal.memberId], { events: 5, stages: 1, contacts: 2 })
  t.same(
    requestsSince(s.emu, s.portal, from),
    ['event.offline.get', 'batch', 'event.offline.clear', 'event.offline.get'],
    'reserve, one batch of reads, clear, and the empty get that ends the drain',
  )
  const inBatch = s.emu.calls.slice(from).filter((c) => c.memberId === s.portal.memberId && c.inBatch)
  t.same(
    inBatch.map((c) => c.method).sort(),
    ['crm.activity.list', 'crm.lead.list'],
    'one activity read for the four activities, one stage read',
  )

  const after = await Promise.all(rows.map((r) => rowOf(s, r.id)))
  for (const [i, r] of after.slice(0, 2).entries())
    t.equal(
      r.first_contact_at,
      toSecond(s.portal.activities(1, rows[i]!.b24_lead_id!)[0]!.updatedAt),
      `lead ${i + 1}: its to-do`,
    )
  t.equal(
    after[2]!.first_contact_at,
    Date.parse(String(s.portal.leads.get(rows[2]!.b24_lead_id!)?.MOVED_TIME)),
    'lead 3: its move; the renamed, open to-do is no contact',
  )
})

t.test("simple CRM mode: the deal's to-do completed is the first contact", async (t) => {
  const s = await setUp(t, { crmMode: 2 })
  const [row] = await deliver(s, 1)
  t.equal(row!.b24_entity, 'deal')
  const todo = todoOf(s, row!)
  s.later(3)
  s.emu.completeActivity(s.portal, todo.id, { userId: 2 })
  await s.collect()
  t.equal((await rowOf(s, row!.id)).first_contact_at, toSecond(s.portal.activities(2, row!.b24_lead_id!)[0]!.updatedAt))
})
