/**
 * What a person does in the CRM besides moving a stage, as the app's time to first contact needs
 * it (issue 10), each point with the page it follows (b24restdocs):
 * - A save that leaves the stage as it was (a title or comment edited, or a move to the stage the
 *   record is at) changes DATE_MODIFY but not MOVED_TIME / MOVED_BY_ID ("the date the item was
 *   moved to the current stage"), and raises ONCRMLEADUPDATE / ONCRMDEALUPDATE online and offline
 *   like any update. @see api-reference/crm/leads/crm-lead-fields.md (MOVED_TIME, MOVED_BY_ID),
 *   api-reference/crm/leads/events/on-crm-lead-update.md
 * - A call a person logs in a record's timeline is an activity added completed: TYPE_ID 2,
 *   PROVIDER_ID VOXIMPLANT_CALL / PROVIDER_TYPE_ID CALL, START_TIME and END_TIME the call's
 *   (END_TIME "Activity completion time"), DEADLINE its START_TIME, DIRECTION 2 outgoing;
 *   ONCRMACTIVITYADD goes online and offline with only its ID.
 *   @see api-reference/crm/timeline/activities/activity-base/crm-activity-add.md
 *   @see api-reference/crm/timeline/activities/activity-base/crm-activity-get.md (a completed call)
 *   @see api-reference/crm/timeline/activities/activity-base/crm-activity-fields.md (DEADLINE)
 *   @see api-reference/crm/timeline/activities/events/on-crm-activity-add.md
 * - crm.activity.list narrows to the activities an offline batch named: `@ID` (IN), COMPLETED,
 *   `@OWNER_TYPE_ID`; a completed to-do's LAST_UPDATED is when it was ticked off, its END_TIME
 *   still the deadline. @see api-reference/crm/timeline/activities/activity-base/crm-activity-list.md
 */
import t from 'tap'
import { CONTROL_PATH } from './index.js'
import { callJson, fakeClock, startEmulator, startReceiver, type Json } from './helpers.js'

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00')

async function setup(t: Parameters<typeof startEmulator>[0]) {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now })
  const portal = emu.createPortal()
  const admin = portal.issueToken(1).access_token
  const app = await startReceiver(t)
  await emu.installApp(portal, { installUrl: `${app.url}/install` })
  for (const event of ['ONCRMLEADUPDATE', 'ONCRMACTIVITYADD', 'ONCRMACTIVITYUPDATE']) {
    await callJson(portal, 'event.bind', { event, handler: `${app.url}/events` }, admin)
    await callJson(portal, 'event.bind', { event, event_type: 'offline', auth_connector: 'app' }, admin)
  }
  const events = (name: string) =>
    app.requests.filter((r) => r.path === '/events' && r.form['event'] === name).map((r) => r.form as Json)
  const addLead = async (title: string): Promise<number> =>
    (await callJson(portal, 'crm.lead.add', { fields: { TITLE: title }, auth_connector: 'app' }, admin)).body
      .result as number
  return { emu, portal, admin, clock, events, addLead }
}

t.test('a save at the same stage: DATE_MODIFY moves, MOVED_TIME stays, the update is raised', async (t) => {
  const { emu, portal, clock, events, addLead } = await setup(t)
  const lead = await addLead('TikTok')
  const created = iso(clock.now())
  clock.advance(60_000)
  emu.editLead(portal, lead, { TITLE: 'Called back tomorrow' }, { userId: 2 })
  await emu.settled()
  t.match(portal.leads.get(lead), {
    TITLE: 'Called back tomorrow',
    STATUS_ID: 'NEW',
    MODIFY_BY_ID: '2',
    DATE_MODIFY: iso(clock.now()),
    MOVED_TIME: created,
    MOVED_BY_ID: '1',
  })
  t.match(events('ONCRMLEADUPDATE'), [{ data: { FIELDS: { ID: String(lead) } }, auth: { user_id: '2' } }])
  t.match(emu.offlineQueue(portal), [{ event: 'ONCRMLEADUPDATE', entityId: lead }])

  clock.advance(60_000)
  emu.moveLead(portal, lead, 'NEW', { userId: 2 })
  t.match(
    portal.leads.get(lead),
    { DATE_MODIFY: iso(clock.now()), MOVED_TIME: created },
    'a "move" to its own stage moves nothing',
  )
  clock.advance(60_000)
  emu.moveLead(portal, lead, 'IN_PROCESS', { userId: 2 })
  t.match(portal.leads.get(lead), { MOVED_TIME: iso(clock.now()), MOVED_BY_ID: '2' }, 'a real move does')

  t.throws(() => emu.editLead(portal, lead, { STATUS_ID: 'JUNK' }), /move the lead instead/)
  t.throws(() => emu.editLead(portal, 9999, { TITLE: 'x' }), /no lead 9999/)
  t.throws(() => emu.editLead(portal, lead, { TITLE: 'x' }, { userId: 99 }), /no active user 99/)
})

t.test('a logged call: added completed with its own times, ONCRMACTIVITYADD online and offline', async (t) => {
  const { emu, portal, admin, clock, events, addLead } = await setup(t)
  const lead = await addLead('TikTok')
  clock.advance(10 * 60_000)
  const startedAt = clock.now() - 5 * 60_000
  const endedAt = clock.now() - 2 * 60_000
  const call = emu.logCall(portal, { ownerTypeId: 1, ownerId: lead, startedAt, endedAt }, { userId: 2 })
  await emu.settled()
  const got = await callJson(portal, 'crm.activity.get', { id: call }, admin)
  t.match(got.body.result, {
    ID: String(call),
    OWNER_TYPE_ID: '1',
    OWNER_ID: String(lead),
    TYPE_ID: '2',
    PROVIDER_ID: 'VOXIMPLANT_CALL',
    PROVIDER_TYPE_ID: 'CALL',
    COMPLETED: 'Y',
    STATUS: '2',
    START_TIME: iso(startedAt),
    END_TIME: iso(endedAt),
    DEADLINE: iso(startedAt),
    DIRECTION: '2',
    AUTHOR_ID: '2',
    RESPONSIBLE_ID: '2',
    CREATED: iso(clock.now()),
    LAST_UPDATED: iso(clock.now()),
  })
  t.match(events('ONCRMACTIVITYADD'), [{ data: { FIELDS: { ID: String(call) } }, auth: { user_id: '2' } }])
  t.match(emu.offlineQueue(portal), [{ event: 'ONCRMACTIVITYADD', entityId: call, connector: 'app' }])

  t.throws(() => emu.logCall(portal, { ownerTypeId: 1, ownerId: 9999, startedAt, endedAt }), /no record 1\/9999/)
  t.throws(
    () => emu.logCall(portal, { ownerTypeId: 1, ownerId: lead, startedAt, endedAt: clock.now() + 1 }),
    /ends before now/,
  )
})

t.test('crm.activity.list: @ID, COMPLETED and @OWNER_TYPE_ID narrow it; a done to-do keeps its deadline', async (t) => {
  const { emu, portal, admin, clock, addLead } = await setup(t)
  const lead = await addLead('TikTok')
  const deal = (await callJson(portal, 'crm.deal.add', { fields: { TITLE: 'D' } }, admin)).body.result as number
  const todo = async (ownerTypeId: number, ownerId: number) =>
    (
      await callJson(
        portal,
        'crm.activity.todo.add',
        { ownerTypeId, ownerId, deadline: '2030-01-15T12:00:00+00:00', auth_connector: 'app' },
        admin,
      )
    ).body.result.id as number
  const onLead = await todo(1, lead)
  const onDeal = await todo(2, deal)
  const open = await todo(1, lead)
  clock.advance(3 * 60_000)
  emu.completeActivity(portal, onLead, { userId: 2 })
  emu.completeActivity(portal, onDeal, { userId: 2 })
  const doneAt = clock.now()
  const contact = (await callJson(portal, 'crm.contact.add', { fields: { NAME: 'An' } }, admin)).body.result as number
  const call = emu.logCall(
    portal,
    { ownerTypeId: 3, ownerId: contact, startedAt: doneAt - 1000, endedAt: doneAt },
    { userId: 2 },
  )

  const list = await callJson(
    portal,
    'crm.activity.list',
    {
      filter: { '@ID': [onLead, onDeal, open, call], COMPLETED: 'Y', '@OWNER_TYPE_ID': [1, 2] },
      select: ['ID', 'OWNER_TYPE_ID', 'OWNER_ID', 'COMPLETED', 'PROVIDER_ID', 'END_TIME', 'LAST_UPDATED'],
    },
    admin,
  )
  t.equal(list.status, 200)
  t.same(
    list.body.result,
    [onLead, onDeal].map((id) => ({
      ID: String(id),
      OWNER_TYPE_ID: id === onLead ? '1' : '2',
      OWNER_ID: String(id === onLead ? lead : deal),
      COMPLETED: 'Y',
      PROVIDER_ID: 'CRM_TODO',
      END_TIME: '2030-01-15T12:00:00+00:00',
      LAST_UPDATED: iso(doneAt),
    })),
    'the open to-do and the call on a contact are left out; a to-do ends at its deadline, done at LAST_UPDATED',
  )
})

t.test('the control API edits a lead and logs a call as a person', async (t) => {
  const { emu, portal, clock, addLead } = await setup(t)
  const lead = await addLead('TikTok')
  const base = `${emu.url}${CONTROL_PATH}/portals/${portal.memberId}`
  const post = (path: string, body: Json) => fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) })
  const edit = await post('/edit', { kind: 'lead', id: lead, fields: { COMMENTS: 'no answer' }, userId: 2 })
  t.equal(edit.status, 200)
  t.match(portal.leads.get(lead), { COMMENTS: 'no answer', MODIFY_BY_ID: '2', STATUS_ID: 'NEW' })
  clock.advance(60_000)
  const logged = await post('/log-call', {
    ownerTypeId: 1,
    ownerId: lead,
    startedAt: clock.now() - 30_000,
    endedAt: clock.now(),
    userId: 2,
  })
  t.equal(logged.status, 200)
  const { id } = (await logged.json()) as { id: number }
  t.match(portal.activities(1, lead), [{ id, kind: 'call', completed: true, callEnd: clock.now(), authorId: 2 }])
  t.equal((await post('/edit', { kind: 'lead', id: lead, fields: { STATUS_ID: 'JUNK' } })).status, 400)
})
