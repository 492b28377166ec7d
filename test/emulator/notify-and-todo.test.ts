/**
 * What the speed-to-lead and alert features need of the portal (issue 10), each point with the
 * page it follows (b24restdocs):
 * - im.notify.system.add needs the `im` scope; answers the notice id (false when none was made);
 *   a TAG replaces the user's earlier notice with that TAG; USER_ID_EMPTY, MESSAGE_EMPTY,
 *   ATTACH_ERROR, ATTACH_OVERSIZE. @see api-reference/chats/notifications/im-notify-system-add.md
 * - user.admin answers whether the caller is an administrator; nothing lists the admins.
 *   @see api-reference/common/users/user-admin.md, api-reference/user/user-get.md
 * - crm.activity.todo.add answers `{ id }`, also inside a batch with `$result[...]`; codes 100,
 *   OWNER_NOT_FOUND, NOT_FOUND, WRONG_DATETIME_FORMAT.
 *   @see api-reference/crm/timeline/activities/todo/crm-activity-todo-add.md
 *   @see settings/how-to-call-rest-api/batch.md
 * - A to-do is read with crm.activity.get/list (PROVIDER_ID CRM_TODO) and completed with
 *   crm.activity.update COMPLETED=Y. @see api-reference/crm/timeline/activities/todo/index.md,
 *   api-reference/crm/timeline/activities/activity-base/crm-activity-update.md
 * - A person's stage change or completed to-do raises ONCRMLEADUPDATE / ONCRMDEALUPDATE /
 *   ONCRMACTIVITYUPDATE online and offline, authorised as that person, and reaches the queue of
 *   the app's own auth_connector. @see api-reference/crm/leads/events/on-crm-lead-update.md,
 *   api-reference/events/offline-events.md
 * - crm.status.list (STATUS, DEAL_STAGE) and crm.dealcategory.stage.list answer the seeded stages
 *   with their semantics. @see api-reference/crm/status/crm-status-list.md,
 *   api-reference/crm/outdated/category-old/crm-deal-category-stage-list.md
 */
import t from 'tap'
import { CONTROL_PATH } from './index.js'
import { callForm, callJson, fakeClock, startEmulator, startReceiver, type Json } from './helpers.js'

const WITH_IM = 'crm,placement,user_brief,im'
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00')

async function setup(t: Parameters<typeof startEmulator>[0], scope = WITH_IM) {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now, scope })
  const portal = emu.createPortal()
  const admin = portal.issueToken(1).access_token
  const manager = portal.issueToken(2).access_token
  const addLead = async (title: string): Promise<number> =>
    (await callJson(portal, 'crm.lead.add', { fields: { TITLE: title } }, admin)).body.result as number
  return { emu, portal, admin, manager, clock, addLead }
}

// ---- im.notify.system.add ------------------------------------------------------

t.test('im.notify.system.add without the im scope is insufficient_scope, alone and in a batch', async (t) => {
  const { portal, admin } = await setup(t, 'crm,placement,user_brief')
  const alone = await callJson(portal, 'im.notify.system.add', { USER_ID: 1, MESSAGE: 'hi' }, admin)
  t.equal(alone.status, 403)
  t.equal(alone.body.error, 'insufficient_scope')
  const batch = await callJson(portal, 'batch', { cmd: { n: 'im.notify.system.add?USER_ID=1&MESSAGE=hi' } }, admin)
  t.equal(batch.status, 200)
  t.equal(batch.body.result.result_error.n.error, 'insufficient_scope')
  t.same(portal.notifications(), [], 'nothing was sent')
})

t.test('im.notify.system.add answers the id and keeps what it was sent', async (t) => {
  const { portal, admin, clock } = await setup(t)
  const attach = [{ MESSAGE: 'Lead from TikTok' }]
  const sent = await callJson(
    portal,
    'im.notify.system.add',
    {
      USER_ID: 2,
      MESSAGE: '  [b]New lead[/b] [url=https://x.test/lead/1]open[/url]  ',
      MESSAGE_OUT: 'New lead',
      TAG: 'LEAD_1',
      SUB_TAG: 'LEAD|1',
      ATTACH: JSON.stringify(attach),
    },
    admin,
  )
  t.equal(sent.status, 200)
  t.type(sent.body.result, 'number')
  t.match(portal.notifications(2), [
    {
      id: sent.body.result,
      userId: 2,
      message: '[b]New lead[/b] [url=https://x.test/lead/1]open[/url]',
      messageOut: 'New lead',
      tag: 'LEAD_1',
      subTag: 'LEAD|1',
      attach,
      clientId: 'local.test.app',
      at: clock.now(),
    },
  ])
  t.same(portal.notifications(1), [], "another user's notifications are apart")
  // A form body with ATTACH as a nested array works the same.
  const form = await callForm(
    portal,
    'im.notify.system.add',
    { USER_ID: '1', MESSAGE: 'form', ATTACH: { BLOCKS: [{ MESSAGE: 'x' }] } },
    admin,
  )
  t.equal(form.status, 200)
  t.match(portal.notifications(1), [{ message: 'form', attach: { BLOCKS: [{ MESSAGE: 'x' }] }, tag: null }])
})

t.test('a notice with the same TAG replaces the earlier one for that user; without a TAG both stay', async (t) => {
  const { portal, admin } = await setup(t)
  const send = async (userId: number, message: string, tag?: string) =>
    (
      await callJson(
        portal,
        'im.notify.system.add',
        { USER_ID: userId, MESSAGE: message, ...(tag ? { TAG: tag } : {}) },
        admin,
      )
    ).body.result as number
  const first = await send(1, 'TikTok connection lost', 'HEALTH')
  await send(2, 'TikTok connection lost', 'HEALTH')
  const second = await send(1, 'TikTok connection lost (again)', 'HEALTH')
  t.not(second, first, 'a new id')
  t.same(
    portal.notifications(1).map((n) => [n.id, n.message]),
    [[second, 'TikTok connection lost (again)']],
    'the earlier HEALTH notice of user 1 is gone',
  )
  t.equal(portal.notifications(2).length, 1, "user 2's notice with that tag stays")
  await send(1, 'plain one')
  await send(1, 'plain two')
  t.same(
    portal.notifications(1).map((n) => n.message),
    ['TikTok connection lost (again)', 'plain one', 'plain two'],
  )
})

t.test('im.notify.system.add refusals, each with its documented code, store nothing', async (t) => {
  const { portal, admin } = await setup(t)
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['no USER_ID', { MESSAGE: 'x' }, 'USER_ID_EMPTY'],
    ['USER_ID 0', { USER_ID: 0, MESSAGE: 'x' }, 'USER_ID_EMPTY'],
    ['no MESSAGE', { USER_ID: 1 }, 'MESSAGE_EMPTY'],
    ['blank MESSAGE', { USER_ID: 1, MESSAGE: '   ' }, 'MESSAGE_EMPTY'],
    ['ATTACH not JSON', { USER_ID: 1, MESSAGE: 'x', ATTACH: '{oops' }, 'ATTACH_ERROR'],
    ['ATTACH a number', { USER_ID: 1, MESSAGE: 'x', ATTACH: 5 }, 'ATTACH_ERROR'],
    ['ATTACH too big', { USER_ID: 1, MESSAGE: 'x', ATTACH: [{ MESSAGE: 'y'.repeat(60_001) }] }, 'ATTACH_OVERSIZE'],
  ]
  for (const [name, params, code] of cases) {
    const r = await callJson(portal, 'im.notify.system.add', params, admin)
    t.equal(r.status, 400, `${name}: 400`)
    t.equal(r.body.error, code, `${name}: ${code}`)
  }
  const nobody = await callJson(portal, 'im.notify.system.add', { USER_ID: 99, MESSAGE: 'x' }, admin)
  t.same([nobody.status, nobody.body.result], [200, false], 'a user not on the portal: no notice, result false')
  t.same(portal.notifications(), [])
})

t.test('user.admin says whether the caller is an administrator; basic scope', async (t) => {
  const { portal, admin, manager } = await setup(t, 'crm')
  t.equal((await callJson(portal, 'user.admin', {}, admin)).body.result, true)
  t.equal((await callJson(portal, 'user.admin', {}, manager)).body.result, false)
})

// ---- crm.activity.todo.add ------------------------------------------------------

t.test('a lead, its to-do and the notice in one batch, chained with $result[lead]', async (t) => {
  const { portal, admin, clock } = await setup(t)
  const deadline = '2025-01-15T12:15:00+00:00'
  const reply = await callJson(
    portal,
    'batch',
    {
      halt: 1,
      cmd: {
        lead: 'crm.lead.add?fields[TITLE]=TikTok%20lead&fields[ASSIGNED_BY_ID]=2',
        todo:
          'crm.activity.todo.add?ownerTypeId=1&ownerId=$result[lead]&deadline=' +
          encodeURIComponent(deadline) +
          '&title=Call%20this%20TikTok%20lead&responsibleId=2&pingOffsets[]=0&pingOffsets[]=15&colorId=2',
        notice: 'im.notify.system.add?USER_ID=2&MESSAGE=New%20lead%20%23$result[lead]&TAG=lead-$result[lead]',
      },
    },
    admin,
  )
  t.equal(reply.status, 200)
  const { result, result_error } = reply.body.result
  t.same(result_error, [])
  const leadId = result.lead as number
  t.match(result.todo, { id: Number })
  t.type(result.notice, 'number')
  t.match(portal.activities(1, leadId), [
    {
      id: result.todo.id,
      ownerTypeId: 1,
      ownerId: leadId,
      deadline: Date.parse(deadline),
      title: 'Call this TikTok lead',
      description: '',
      responsibleId: 2,
      pingOffsets: [0, 15],
      colorId: '2',
      authorId: 1,
      createdAt: clock.now(),
      completed: false,
      completedAt: null,
    },
  ])
  t.same(portal.activities(1, leadId + 1), [], 'no to-do on another lead')
  t.match(portal.notifications(2), [{ message: `New lead #${leadId}`, tag: `lead-${leadId}` }])
})

t.test('crm.activity.todo.add: defaults, deadline forms, and its refusals', async (t) => {
  const { portal, admin, manager, addLead } = await setup(t)
  const lead = await addLead('L')
  const add = (params: Record<string, unknown>, token = admin) =>
    callJson(portal, 'crm.activity.todo.add', { ownerTypeId: 1, ownerId: lead, ...params }, token)
  const plain = await add({ deadline: '2025-02-03T15:00:00' }, manager)
  t.equal(plain.status, 200)
  const [first] = portal.activities(1, lead)
  t.match(
    first,
    {
      id: plain.body.result.id,
      deadline: Date.UTC(2025, 1, 3, 15, 0, 0),
      responsibleId: 2,
      authorId: 2,
      pingOffsets: [],
      colorId: null,
    },
    'without an offset the deadline is read in the portal zone (UTC); the caller is responsible',
  )
  const offset = await add({ deadline: '2025-02-03T15:00:00+03:00' })
  t.equal(portal.activities().find((a) => a.id === offset.body.result.id)?.deadline, Date.UTC(2025, 1, 3, 12, 0, 0))
  const deal = (await callJson(portal, 'crm.deal.add', { fields: { TITLE: 'D' } }, admin)).body.result as number
  const onDeal = await callJson(
    portal,
    'crm.activity.todo.add',
    { ownerTypeId: 2, ownerId: deal, deadline: '2025-02-03T15:00:00Z' },
    admin,
  )
  t.equal(onDeal.status, 200)
  t.equal(portal.activities(2, deal).length, 1, 'a deal takes to-dos too')

  const before = portal.activities().length
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['no deadline', {}, '100'],
    ['no owner id', { ownerId: undefined, deadline: '2025-02-03T15:00:00' }, '100'],
    ['owner type the portal has not', { ownerTypeId: 999, deadline: '2025-02-03T15:00:00' }, 'OWNER_NOT_FOUND'],
    ['lead that does not exist', { ownerId: 9999, deadline: '2025-02-03T15:00:00' }, 'NOT_FOUND'],
    ['deadline in words', { deadline: 'tomorrow' }, 'WRONG_DATETIME_FORMAT'],
    ['deadline on a day that is not', { deadline: '2025-02-30T10:00:00' }, 'WRONG_DATETIME_FORMAT'],
    ['responsible not on the portal', { deadline: '2025-02-03T15:00:00', responsibleId: 99 }, ''],
  ]
  for (const [name, params, code] of cases) {
    const r = await add(params)
    t.equal(r.status, 400, `${name}: 400`)
    t.equal(r.body.error, code, `${name}: "${code}"`)
  }
  t.equal(portal.activities().length, before, 'no refused to-do was stored')
})

t.test('crm.activity.todo.add needs the crm scope', async (t) => {
  const { portal, admin } = await setup(t, 'user_brief,im')
  const r = await callJson(
    portal,
    'crm.activity.todo.add',
    { ownerTypeId: 1, ownerId: 1, deadline: '2025-02-03' },
    admin,
  )
  t.equal(r.status, 403)
  t.equal(r.body.error, 'insufficient_scope')
})

t.test('to-dos read back with crm.activity.list/get, completed with crm.activity.update', async (t) => {
  const { emu, portal, admin, manager, addLead, clock } = await setup(t)
  await callJson(portal, 'event.bind', { event: 'ONCRMACTIVITYADD', event_type: 'offline' }, admin)
  await callJson(portal, 'event.bind', { event: 'ONCRMACTIVITYUPDATE', event_type: 'offline' }, admin)
  const a = await addLead('A')
  const b = await addLead('B')
  const todo = async (lead: number, deadline: string) =>
    (await callJson(portal, 'crm.activity.todo.add', { ownerTypeId: 1, ownerId: lead, deadline, title: 'Call' }, admin))
      .body.result.id as number
  const late = await todo(a, '2025-01-15T14:00:00Z')
  const early = await todo(a, '2025-01-15T13:00:00Z')
  await todo(b, '2025-01-15T12:30:00Z')
  t.same(
    emu.offlineQueue(portal).map((r) => [r.event, r.entityId]),
    [
      ['ONCRMACTIVITYADD', late],
      ['ONCRMACTIVITYADD', early],
      ['ONCRMACTIVITYADD', early + 1],
    ],
    'each to-do raised ONCRMACTIVITYADD',
  )
  const listed = await callJson(
    portal,
    'crm.activity.list',
    {
      filter: { OWNER_TYPE_ID: 1, OWNER_ID: a, PROVIDER_ID: 'CRM_TODO' },
      select: ['ID', 'DEADLINE', 'COMPLETED', 'SUBJECT'],
    },
    admin,
  )
  t.equal(listed.status, 200)
  t.same(
    listed.body.result,
    [
      { ID: String(early), DEADLINE: '2025-01-15T13:00:00+00:00', COMPLETED: 'N', SUBJECT: 'Call' },
      { ID: String(late), DEADLINE: '2025-01-15T14:00:00+00:00', COMPLETED: 'N', SUBJECT: 'Call' },
    ],
    "lead A's to-dos, by START_TIME (the deadline) as the default order",
  )
  t.equal(listed.body.total, 2)

  clock.advance(7 * 60_000)
  const done = await callJson(portal, 'crm.activity.update', { id: early, fields: { COMPLETED: 'Y' } }, manager)
  t.same([done.status, done.body.result], [200, true])
  const got = await callJson(portal, 'crm.activity.get', { id: early }, admin)
  t.match(got.body.result, {
    ID: String(early),
    OWNER_TYPE_ID: '1',
    OWNER_ID: String(a),
    TYPE_ID: '6',
    PROVIDER_ID: 'CRM_TODO',
    COMPLETED: 'Y',
    STATUS: '2',
    EDITOR_ID: '2',
    LAST_UPDATED: iso(clock.now()),
  })
  t.match(
    portal.activities(1, a).find((x) => x.id === early),
    { completed: true, completedAt: clock.now(), completedBy: 2 },
  )
  const completed = await callJson(portal, 'crm.activity.list', { filter: { COMPLETED: 'Y' }, select: ['ID'] }, admin)
  t.same(completed.body.result, [{ ID: String(early) }])
  t.match(emu.offlineQueue(portal).at(-1), { event: 'ONCRMACTIVITYUPDATE', entityId: early })

  const missing = await callJson(portal, 'crm.activity.update', { id: 9999, fields: { COMPLETED: 'Y' } }, admin)
  t.same([missing.status, missing.body.error, missing.body.error_description], [400, '', 'Activity is not found'])
  t.equal((await callJson(portal, 'crm.activity.get', { id: 9999 }, admin)).status, 400)
})

// ---- a person's changes in the CRM ------------------------------------------------

async function installedWithEvents(t: Parameters<typeof startEmulator>[0]) {
  const ctx = await setup(t)
  const app = await startReceiver(t)
  await ctx.emu.installApp(ctx.portal, { installUrl: `${app.url}/install` })
  for (const event of ['ONCRMLEADUPDATE', 'ONCRMDEALUPDATE', 'ONCRMACTIVITYUPDATE']) {
    const online = await callJson(ctx.portal, 'event.bind', { event, handler: `${app.url}/events` }, ctx.admin)
    if (online.body.result !== true) throw new Error(`${event}: online bind refused`)
    await callJson(ctx.portal, 'event.bind', { event, event_type: 'offline', auth_connector: 'app' }, ctx.admin)
  }
  const events = (name: string) =>
    app.requests.filter((r) => r.path === '/events' && r.form['event'] === name).map((r) => r.form as Json)
  return { ...ctx, app, events }
}

t.test("a person's stage move: the record changes as theirs and ONCRM…UPDATE comes online and offline", async (t) => {
  const { emu, portal, admin, clock, events } = await installedWithEvents(t)
  // The app's own change with its source key stays out of its queue…
  const lead = (await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'TikTok' }, auth_connector: 'app' }, admin))
    .body.result as number
  await callJson(portal, 'crm.lead.update', { id: lead, fields: { TITLE: 'x' }, auth_connector: 'app' }, admin)
  t.same(emu.offlineQueue(portal), [], "the app's own update is not in its queue")
  await emu.settled()
  const ownUpdates = events('ONCRMLEADUPDATE').length
  // …a manager's move comes in.
  clock.advance(60_000)
  emu.moveLead(portal, lead, 'IN_PROCESS', { userId: 2 })
  await emu.settled()
  const online = events('ONCRMLEADUPDATE').slice(ownUpdates)
  t.equal(online.length, 1, 'one online delivery')
  t.match(online[0], {
    data: { FIELDS: { ID: String(lead) } },
    auth: { user_id: '2', member_id: portal.memberId, application_token: portal.applicationToken },
  })
  t.match(portal.leads.get(lead), {
    STATUS_ID: 'IN_PROCESS',
    STATUS_SEMANTIC_ID: 'P',
    MODIFY_BY_ID: '2',
    MOVED_BY_ID: '2',
    DATE_MODIFY: iso(clock.now()),
    MOVED_TIME: iso(clock.now()),
  })
  const queued = await callJson(portal, 'event.offline.get', { auth_connector: 'app' }, admin)
  t.same(
    queued.body.result.events.map((e: Json) => [e.EVENT_NAME, Number(e.EVENT_DATA.FIELDS.ID)]),
    [['ONCRMLEADUPDATE', lead]],
    "the person's move is in the app's auth_connector queue",
  )

  const deal = (await callJson(portal, 'crm.deal.add', { fields: { TITLE: 'D' } }, admin)).body.result as number
  emu.moveDeal(portal, deal, 'APOLOGY', { userId: 2 })
  await emu.settled()
  t.match(portal.deals.get(deal), { STAGE_ID: 'APOLOGY', STAGE_SEMANTIC_ID: 'F', CLOSED: 'Y', MODIFY_BY_ID: '2' })
  t.match(events('ONCRMDEALUPDATE').at(-1), { data: { FIELDS: { ID: String(deal) } }, auth: { user_id: '2' } })

  t.throws(() => emu.moveLead(portal, lead, 'CONVERTED', { userId: 99 }), /no active user 99/)
  t.equal(portal.leads.get(lead)?.['STATUS_ID'], 'IN_PROCESS', 'a refused move changes nothing')
})

t.test('a person completes a to-do: ONCRMACTIVITYUPDATE as them, online and offline', async (t) => {
  const { emu, portal, admin, clock, addLead, events } = await installedWithEvents(t)
  const lead = await addLead('L')
  const todo = (
    await callJson(
      portal,
      'crm.activity.todo.add',
      { ownerTypeId: 1, ownerId: lead, deadline: '2025-01-15T12:30:00Z', responsibleId: 2, auth_connector: 'app' },
      admin,
    )
  ).body.result.id as number
  clock.advance(3 * 60_000)
  emu.completeActivity(portal, todo, { userId: 2 })
  await emu.settled()
  t.match(portal.activities(1, lead), [{ id: todo, completed: true, completedAt: clock.now(), completedBy: 2 }])
  t.match(events('ONCRMACTIVITYUPDATE'), [{ data: { FIELDS: { ID: String(todo) } }, auth: { user_id: '2' } }])
  t.match(emu.offlineQueue(portal), [{ event: 'ONCRMACTIVITYUPDATE', entityId: todo, connector: 'app' }])
  t.throws(() => emu.completeActivity(portal, 9999), /no activity 9999/)
})

// ---- stage directories ----------------------------------------------------------

t.test('crm.status.list: lead stages and deal stages with their semantics', async (t) => {
  const { portal, admin } = await setup(t)
  const leads = await callJson(
    portal,
    'crm.status.list',
    { filter: { ENTITY_ID: 'STATUS' }, order: { SORT: 'ASC' } },
    admin,
  )
  t.equal(leads.body.total, 5)
  t.same(
    leads.body.result.map((s: Json) => [s.STATUS_ID, s.SEMANTICS, s.EXTRA.SEMANTICS]),
    [
      ['NEW', null, 'process'],
      ['IN_PROCESS', null, 'process'],
      ['PROCESSED', null, 'process'],
      ['CONVERTED', 'S', 'success'],
      ['JUNK', 'F', 'failure'],
    ],
  )
  const deals = await callJson(portal, 'crm.status.list', { filter: { ENTITY_ID: 'DEAL_STAGE' } }, admin)
  t.same(
    deals.body.result.map((s: Json) => [s.STATUS_ID, s.SEMANTICS, s.EXTRA.SEMANTICS]),
    [
      ['NEW', null, 'process'],
      ['PREPARATION', null, 'process'],
      ['PREPAYMENT_INVOICE', null, 'process'],
      ['EXECUTING', null, 'process'],
      ['FINAL_INVOICE', null, 'process'],
      ['WON', 'S', 'success'],
      ['LOSE', 'F', 'failure'],
      ['APOLOGY', 'F', 'apology'],
    ],
  )
  const pipeline = await callJson(portal, 'crm.dealcategory.stage.list', {}, admin)
  t.same(pipeline.body.result, deals.body.result, 'the default pipeline is DEAL_STAGE')
  t.same((await callJson(portal, 'crm.dealcategory.stage.list', { id: 0 }, admin)).body.result, deals.body.result)
  t.same((await callJson(portal, 'crm.dealcategory.stage.list', { id: 7 }, admin)).body.result, [], 'no such pipeline')
})

// ---- the control API --------------------------------------------------------------

t.test('the control API reads notifications and to-dos and makes a person move a lead', async (t) => {
  const { emu, portal, admin, addLead } = await setup(t)
  const lead = await addLead('L')
  await callJson(portal, 'im.notify.system.add', { USER_ID: 2, MESSAGE: 'hello' }, admin)
  await callJson(portal, 'crm.activity.todo.add', { ownerTypeId: 1, ownerId: lead, deadline: '2025-01-16' }, admin)
  const base = `${emu.url}${CONTROL_PATH}/portals/${portal.memberId}`
  const get = async (path: string) => (await fetch(`${base}${path}`)).json() as Promise<Json>
  t.match(await get('/notifications?userId=2'), [{ userId: 2, message: 'hello' }])
  t.same(await get('/notifications?userId=1'), [])
  t.match(await get(`/activities?ownerTypeId=1&ownerId=${lead}`), [{ ownerId: lead, deadline: Date.UTC(2025, 0, 16) }])
  const move = await fetch(`${base}/move`, {
    method: 'POST',
    body: JSON.stringify({ kind: 'lead', id: lead, stage: 'JUNK', userId: 2 }),
  })
  t.equal(move.status, 200)
  t.match(portal.leads.get(lead), { STATUS_ID: 'JUNK', MOVED_BY_ID: '2' })
  const bad = await fetch(`${base}/move`, {
    method: 'POST',
    body: JSON.stringify({ kind: 'lead', id: lead, stage: 'NOPE' }),
  })
  t.equal(bad.status, 400)
})
