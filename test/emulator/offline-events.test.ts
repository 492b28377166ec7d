/**
 * Offline events in the emulator, each point with the page it follows (b24restdocs):
 * - event.bind event_type=offline needs no handler, is for administrators only, and takes a
 *   source key `auth_connector`. @see api-reference/events/event-bind.md, offline-events.md
 * - The queue holds one record per object and event until it is taken, with the time of the
 *   last change. @see api-reference/events/offline-events.md "How Offline Events Work"
 * - A change made with the binding's `auth_connector` is not recorded in that queue; get/list
 *   see the queue of the key they pass, else only records without a source.
 *   @see api-reference/events/offline-events.md "How to Avoid Cycles", event-offline-list.md
 * - get clear=1 (default) deletes what it returns; clear=0 reserves it under a process_id, hides
 *   it from other gets; the same process_id takes it again; clear with the process_id (and id /
 *   message_id lists) deletes. @see api-reference/events/event-offline-get.md, event-offline-clear.md
 * - error marks records; they come back only with get error=1. @see event-offline-error.md
 * - list reads without changing, with PROCESS_ID and ERROR. @see event-offline-list.md
 * - get, clear, error and list: administrators only (403 ACCESS_DENIED).
 */
import t from 'tap'
import { callJson, fakeClock, startEmulator, type Json } from './helpers.js'

const bindOffline = (connector?: string) => ({
  event: 'ONCRMLEADUPDATE',
  event_type: 'offline',
  ...(connector ? { auth_connector: connector } : {}),
})

async function setup(t: Parameters<typeof startEmulator>[0]) {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now })
  const portal = emu.createPortal()
  const admin = portal.issueToken(1).access_token
  const manager = portal.issueToken(2).access_token
  const add = async (title: string): Promise<number> =>
    (await callJson(portal, 'crm.lead.add', { fields: { TITLE: title } }, admin)).body.result as number
  return { emu, portal, admin, manager, add, clock }
}

const ids = (events: Json[]): number[] => events.map((e: Json) => Number(e.EVENT_DATA.FIELDS.ID))

t.test('offline bind: no handler, administrators only, a second identical bind is refused', async (t) => {
  const { portal, admin, manager } = await setup(t)
  const byManager = await callJson(portal, 'event.bind', bindOffline('ours'), manager)
  t.equal(byManager.status, 403)
  t.equal(byManager.body.error, 'ACCESS_DENIED')
  const bound = await callJson(portal, 'event.bind', bindOffline('ours'), admin)
  t.equal(bound.status, 200)
  t.equal(bound.body.result, true)
  t.equal((await callJson(portal, 'event.bind', bindOffline('ours'), admin)).body.error, 'ERROR_CORE', 'already bound')
  t.equal(
    (await callJson(portal, 'event.bind', { event: 'ONCRMLEADUPDATE' }, admin)).body.error,
    'ERROR_ARGUMENT',
    'an online bind still needs its handler',
  )
  const listed = await callJson(portal, 'event.get', {}, admin)
  t.match(listed.body.result, [{ event: 'ONCRMLEADUPDATE', offline: 1 }])
  for (const method of ['event.offline.get', 'event.offline.list', 'event.offline.clear', 'event.offline.error']) {
    const r = await callJson(portal, method, { process_id: 'x' }, manager)
    t.equal(r.status, 403, `${method} is for administrators`)
    t.equal(r.body.error, 'ACCESS_DENIED')
  }
})

t.test('one record per lead until taken; clear=1 deletes; no binding, no record', async (t) => {
  const { emu, portal, admin, add, clock } = await setup(t)
  const before = await add('before the binding')
  await callJson(portal, 'crm.lead.update', { id: before, fields: { TITLE: 'x' } }, admin)
  t.same(emu.offlineQueue(portal), [], 'nothing is recorded without an offline binding')
  await callJson(portal, 'event.bind', bindOffline(), admin)
  const a = await add('A')
  const b = await add('B')
  t.same(emu.offlineQueue(portal), [], 'ONCRMLEADADD is not bound: adds are not recorded')
  await callJson(portal, 'crm.lead.update', { id: a, fields: { TITLE: 'A1' } }, admin)
  clock.advance(1000)
  await callJson(portal, 'crm.lead.update', { id: b, fields: { TITLE: 'B1' } }, admin)
  clock.advance(1000)
  await callJson(portal, 'crm.lead.update', { id: a, fields: { TITLE: 'A2' } }, admin)
  emu.moveLead(portal, a, 'IN_PROCESS')
  t.equal(emu.offlineQueue(portal).length, 2, 'four changes of two leads are two records')
  const got = await callJson(portal, 'event.offline.get', {}, admin)
  t.equal(got.status, 200)
  t.equal(got.body.result.process_id, null, 'clear=1 reserves nothing')
  t.same(ids(got.body.result.events).sort(), [a, b].sort())
  t.match(got.body.result.events[0], {
    ID: String,
    TIMESTAMP_X: String,
    EVENT_NAME: 'ONCRMLEADUPDATE',
    MESSAGE_ID: String,
    EVENT_DATA: { FIELDS: { ID: Number } },
  })
  t.equal(ids(got.body.result.events)[0], b, 'oldest last change first (TIMESTAMP_X ASC): A changed again after B')
  t.same(emu.offlineQueue(portal), [], 'clear=1 deleted them')
  t.same((await callJson(portal, 'event.offline.get', {}, admin)).body.result.events, [])
})

t.test('moveLead and moveDeal change the stage and semantic like a person in the CRM', async (t) => {
  const { emu, portal, admin, add } = await setup(t)
  await callJson(portal, 'event.bind', bindOffline('ours'), admin)
  await callJson(
    portal,
    'event.bind',
    { event: 'ONCRMDEALUPDATE', event_type: 'offline', auth_connector: 'ours' },
    admin,
  )
  const lead = await add('L')
  emu.moveLead(portal, lead, 'JUNK', { userId: 2 })
  const read = await callJson(
    portal,
    'crm.lead.list',
    { filter: { '@ID': [lead] }, select: ['ID', 'STATUS_ID', 'STATUS_SEMANTIC_ID', 'MOVED_BY_ID'] },
    admin,
  )
  t.match(read.body.result, [{ ID: String(lead), STATUS_ID: 'JUNK', STATUS_SEMANTIC_ID: 'F', MOVED_BY_ID: '2' }])
  const deal = (await callJson(portal, 'crm.deal.add', { fields: { TITLE: 'D' } }, admin)).body.result as number
  emu.moveDeal(portal, deal, 'WON')
  t.match(portal.deals.get(deal), { STAGE_ID: 'WON', STAGE_SEMANTIC_ID: 'S', CLOSED: 'Y' })
  const got = await callJson(portal, 'event.offline.get', { auth_connector: 'ours' }, admin)
  t.same(
    got.body.result.events.map((e: Json) => [e.EVENT_NAME, Number(e.EVENT_DATA.FIELDS.ID)]),
    [
      ['ONCRMLEADUPDATE', lead],
      ['ONCRMDEALUPDATE', deal],
    ],
  )
  t.throws(() => emu.moveLead(portal, lead, 'NO_SUCH'), /not in STATUS/)
})

t.test("auth_connector: our own changes stay out of our queue, a person's come in; get needs the key", async (t) => {
  const { emu, portal, admin, add } = await setup(t)
  await callJson(portal, 'event.bind', bindOffline('ours'), admin)
  const a = await add('A')
  const b = await add('B')
  await callJson(portal, 'crm.lead.update', { id: a, fields: { TITLE: 'by us' }, auth_connector: 'ours' }, admin)
  const batch = await callJson(
    portal,
    'batch',
    { halt: 0, cmd: { u: `crm.lead.update?id=${b}&fields[TITLE]=by%20us&auth_connector=ours` } },
    admin,
  )
  t.same(batch.body.result.result_error, [])
  t.same(emu.offlineQueue(portal), [], 'changes with our key, direct or as a batch command, are not recorded')
  const outer = await callJson(
    portal,
    'batch',
    { halt: 0, auth_connector: 'ours', cmd: { u: `crm.lead.update?id=${b}&fields[TITLE]=again` } },
    admin,
  )
  t.same(outer.body.result.result_error, [])
  t.equal(
    emu.offlineQueue(portal).length,
    1,
    'the key on the batch alone does not cover its commands: pass it in each command',
  )
  await callJson(portal, 'crm.lead.update', { id: a, fields: { TITLE: 'other key' }, auth_connector: 'theirs' }, admin)
  emu.moveLead(portal, a, 'PROCESSED')
  t.equal(emu.offlineQueue(portal).length, 2)
  t.same(
    (await callJson(portal, 'event.offline.get', { clear: 0 }, admin)).body.result.events,
    [],
    'without our key only records without a source',
  )
  t.same((await callJson(portal, 'event.offline.list', {}, admin)).body.result, [])
  const listed = await callJson(portal, 'event.offline.list', { auth_connector: 'ours' }, admin)
  t.equal(listed.body.total, 2)
  t.match(listed.body.result[0], { PROCESS_ID: '', ERROR: '0' })
  const got = await callJson(portal, 'event.offline.get', { auth_connector: 'ours' }, admin)
  t.same(ids(got.body.result.events).sort(), [a, b].sort())
})

t.test('clear=0 reserves under a process_id; hidden from other gets; taken again by id; clear deletes', async (t) => {
  const { emu, portal, admin, add } = await setup(t)
  await callJson(portal, 'event.bind', bindOffline('ours'), admin)
  const leads = [await add('A'), await add('B'), await add('C')]
  for (const id of leads) emu.moveLead(portal, id, 'IN_PROCESS')
  const first = await callJson(portal, 'event.offline.get', { clear: 0, limit: 2, auth_connector: 'ours' }, admin)
  const pid = first.body.result.process_id as string
  t.match(pid, /^[0-9a-f]{32}$/)
  t.same(ids(first.body.result.events), leads.slice(0, 2), 'limit applies, oldest first')
  const second = await callJson(portal, 'event.offline.get', { clear: 0, auth_connector: 'ours' }, admin)
  t.not(second.body.result.process_id, pid, 'another get is another process')
  t.same(ids(second.body.result.events), [leads[2]], 'the reserved records are hidden from it')
  const listed = await callJson(
    portal,
    'event.offline.list',
    { auth_connector: 'ours', filter: { PROCESS_ID: pid } },
    admin,
  )
  t.same(ids(listed.body.result), leads.slice(0, 2), 'list shows which process holds what')

  emu.moveLead(portal, leads[0]!, 'PROCESSED')
  t.equal(
    emu.offlineQueue(portal).length,
    4,
    'a change after the reservation is a new record, not folded into the reserved one',
  )
  const again = await callJson(
    portal,
    'event.offline.get',
    { clear: 0, process_id: pid, auth_connector: 'ours' },
    admin,
  )
  t.equal(again.body.result.process_id, pid)
  t.same(
    ids(again.body.result.events).sort(),
    [leads[0]!, leads[0]!, leads[1]!].sort(),
    'the same process_id takes its records again (plus free ones)',
  )

  const partial = await callJson(
    portal,
    'event.offline.clear',
    { process_id: pid, id: [again.body.result.events[0].ID] },
    admin,
  )
  t.equal(partial.body.result, true)
  t.equal(emu.offlineQueue(portal).length, 3, 'id clears part of the batch')
  await callJson(portal, 'event.offline.clear', { process_id: pid }, admin)
  t.same(
    emu.offlineQueue(portal).map((r) => r.entityId),
    [leads[2]],
    'process_id alone clears the rest of that batch only',
  )
  t.equal(
    (await callJson(portal, 'event.offline.clear', {}, admin)).body.error,
    'ERROR_ARGUMENT',
    'process_id is required',
  )
})

t.test('error marks records: they come back only with error=1', async (t) => {
  const { emu, portal, admin, add } = await setup(t)
  await callJson(portal, 'event.bind', bindOffline(), admin)
  const a = await add('A')
  emu.moveLead(portal, a, 'IN_PROCESS')
  const got = await callJson(portal, 'event.offline.get', { clear: 0 }, admin)
  const { process_id: pid, events } = got.body.result
  t.equal(
    (await callJson(portal, 'event.offline.error', { process_id: pid, message_id: [events[0].MESSAGE_ID] }, admin)).body
      .result,
    true,
  )
  t.same((await callJson(portal, 'event.offline.get', {}, admin)).body.result.events, [])
  t.match((await callJson(portal, 'event.offline.list', {}, admin)).body.result, [{ ERROR: '1' }])
  t.same(ids((await callJson(portal, 'event.offline.get', { error: 1 }, admin)).body.result.events), [a])
})

t.test('a reservation never cleared is dropped after 30 days', async (t) => {
  const { emu, portal, admin, add, clock } = await setup(t)
  await callJson(portal, 'event.bind', bindOffline(), admin)
  emu.moveLead(portal, await add('A'), 'IN_PROCESS')
  await callJson(portal, 'event.offline.get', { clear: 0 }, admin)
  clock.advance(29 * 24 * 3600 * 1000)
  // (access tokens live an hour: a fresh one for each look)
  t.equal(
    (await callJson(portal, 'event.offline.list', {}, portal.issueToken(1).access_token)).body.total,
    1,
    'still kept after 29 days',
  )
  clock.advance(2 * 24 * 3600 * 1000)
  t.equal(
    (await callJson(portal, 'event.offline.list', {}, portal.issueToken(1).access_token)).body.total,
    0,
    'gone after 31',
  )
})

t.test("offline bindings are never POSTed: a person's move only lands in the queue", async (t) => {
  const { emu, portal, admin, add } = await setup(t)
  portal.installed = true
  await callJson(portal, 'event.bind', bindOffline(), admin)
  const lead = await add('A')
  emu.moveLead(portal, lead, 'IN_PROCESS')
  await emu.settled()
  t.same(
    emu.deliveries.filter((d) => d.kind === 'event'),
    [],
    'no POST for an offline binding',
  )
  t.equal(emu.offlineQueue(portal).length, 1)
})
