/**
 * Speed-to-lead (issue 10): with the portal's options on, each new lead's batch also carries an
 * im.notify.system.add to its responsible user (a link to the lead, a TAG per lead) and a
 * crm.activity.todo.add "Call this TikTok lead" due N minutes after delivery with the chosen
 * reminders, chained with `$result[...]`: no request more than the batches themselves. An extra
 * that fails (no `im` scope) never fails or doubles its lead, and says why in the tab; a lead
 * found again after an unknown outcome gets no second notification or to-do.
 * @see https://apidocs.bitrix24.com/api-reference/crm/timeline/activities/todo/crm-activity-todo-add.html
 * @see https://apidocs.bitrix24.com/api-reference/chats/notifications/im-notify-system-add.html
 */
import t from 'tap'
import type { Lead } from '../../src/db/schema.js'
import { STRINGS } from '../../src/settings/i18n.js'
import type { Emulator, Portal } from '../emulator/index.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { api, installedPortal, openTab, startApp, startEmulator, waitFor, type Teardown } from '../helpers.js'

const WITH_IM = 'crm,placement,user_brief,im'
const SPEED = { notify_responsible: true, todo_minutes: 30, todo_pings: [15, 0] }

async function setUp(t: Teardown, opts: { scope?: string; crmMode?: 1 | 2; assigned?: number } = {}) {
  const emu = await startEmulator(t, opts.scope ? { scope: opts.scope } : {})
  const started = await startApp(t, { emu })
  const portal = await installedPortal(emu, started.url, opts.crmMode ? { crmMode: opts.crmMode } : undefined)
  const conf = (await started.app.settings.find(portal.memberId))!
  if (opts.assigned)
    await started.app.settings.update(portal.memberId, {
      mapping_json: JSON.stringify({ rules: [], constants: { ASSIGNED_BY_ID: opts.assigned } }),
    })
  return { emu, portal, conf, ...started }
}

type Started = Awaited<ReturnType<typeof setUp>>

async function deliver(s: Started, n: number): Promise<Lead[]> {
  const before = (await s.app.leads.counts(s.portal.memberId)).delivered
  const leads = Array.from({ length: n }, (_, i) => sampleLead({ name: `Lead ${i + 1}` }))
  const res = await postWebhook(s.url, s.conf.webhook_key, notificationBody(leads), { secret: s.conf.signing_secret })
  if (res.status !== 200) throw new Error(`webhook ${res.status}`)
  await waitFor(
    `${n} delivered`,
    async () => (await s.app.leads.counts(s.portal.memberId)).delivered === before + n,
    20_000,
  )
  return s.database.db
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
}

/** Top-level requests to this portal since `from` (an index into emu.calls). */
const requestsSince = (emu: Emulator, portal: Portal, from: number) =>
  emu.calls.slice(from).filter((c) => c.memberId === portal.memberId && !c.inBatch)
const subCalls = (emu: Emulator, portal: Portal, method: string) =>
  emu.calls.filter((c) => c.memberId === portal.memberId && c.inBatch && c.method === method)
const cmdOf = (params: unknown) => Object.values((params as { cmd: Record<string, string> }).cmd)

t.test('options on: 3 leads, 3 notifications and 3 to-dos, in the leads own batches', async (t) => {
  const s = await setUp(t, { scope: WITH_IM, assigned: 2 })
  await s.app.settings.update(s.portal.memberId, SPEED)
  const from = s.emu.calls.length
  const rows = await deliver(s, 3)
  t.equal(rows.length, 3)

  const notes = s.portal.notifications(2)
  t.equal(notes.length, 3, 'one notification per lead, to the responsible user (ASSIGNED_BY_ID as mapped)')
  t.same(s.portal.notifications(1), [], 'nobody else is notified')
  for (const row of rows) {
    const note = notes.find((n) => n.tag === `TIKTOK_LEAD_${row.id}`)
    t.ok(note, `lead ${row.id}: its notification has its own TAG`)
    t.match(
      note?.message,
      `[URL=http://${s.portal.domain}/crm/lead/details/${row.b24_lead_id}/]`,
      'a BB-code link to the lead card',
    )
    t.match(note?.message, STRINGS.en.notify_new_lead.replace('{link}', ''))

    const todos = s.portal.activities(1, row.b24_lead_id!)
    t.equal(todos.length, 1, `lead ${row.id}: one to-do`)
    const todo = todos[0]!
    t.equal(todo.title, STRINGS.en.todo_title)
    t.equal(todo.responsibleId, 2, 'the responsible user is the lead’s')
    t.same(todo.pingOffsets, [0, 15], 'the reminders, sorted')
    // Due 30 min after delivery: the send started after the lead came and before its done time
    // (the deadline is written to the second).
    t.ok(todo.deadline <= row.done_at! + 30 * 60_000, 'not later than done + 30 min')
    t.ok(todo.deadline >= Math.floor(row.received_at / 1000) * 1000 + 30 * 60_000, 'not before received + 30 min')
  }

  const requests = requestsSince(s.emu, s.portal, from)
  const leadBatches = requests.filter((c) => c.method === 'batch' && JSON.stringify(c.params).includes('crm.lead.add'))
  t.ok(leadBatches.length >= 1)
  t.same(
    requests.map((c) => c.method),
    leadBatches.map(() => 'batch'),
    'no request but the lead batches: the extras cost none',
  )
  t.equal(subCalls(s.emu, s.portal, 'crm.activity.todo.add').length, 3)
  t.equal(subCalls(s.emu, s.portal, 'im.notify.system.add').length, 3)

  const page = await openTab(s.url, s.portal)
  const state = await (await api(s.url, page).get('state')).json()
  t.same(
    state.problems.filter((p: string) => /notification|to-do/.test(p)),
    [],
    'no failure line when every extra worked',
  )
})

t.test('the batch shrinks to fit the extras: 50 commands at most, 12 leads with both in classic mode', async (t) => {
  const s = await setUp(t, { scope: WITH_IM })
  await s.app.settings.update(s.portal.memberId, SPEED)
  const from = s.emu.calls.length
  const rows = await deliver(s, 14)
  const batches = requestsSince(s.emu, s.portal, from).filter((c) => c.method === 'batch')
  t.ok(batches.length >= 2, 'two batches at least for 14 leads')
  for (const b of batches) {
    const cmds = cmdOf(b.params)
    t.ok(cmds.length <= 50, `a batch of ${cmds.length} commands`)
    t.ok(cmds.filter((c) => c.startsWith('crm.lead.add')).length <= 12, 'at most 12 leads with 4 commands each')
  }
  t.equal(s.portal.activities(1).length, 14, 'a to-do for each lead')
  t.equal(s.portal.notifications(1).length, 14, 'the installer is responsible when nothing is mapped')
  t.equal(rows.length, 14)
})

t.test('no im scope: the leads and their to-dos are made, the failure is a line in the tab', async (t) => {
  const s = await setUp(t)
  await s.app.settings.update(s.portal.memberId, SPEED)
  const rows = await deliver(s, 3)
  t.ok(
    rows.every((r) => r.status === 'delivered' && r.attempts === 1),
    'every lead delivered at its first attempt',
  )
  t.equal(s.portal.leads.size, 3, 'no lead doubled')
  t.equal(s.portal.activities(1).length, 3, 'the to-dos are made')
  t.same(s.portal.notifications(), [])
  t.match((await s.app.settings.find(s.portal.memberId))!.notify_error, /^insufficient_scope/)
  const page = await openTab(s.url, s.portal)
  const state = await (await api(s.url, page).get('state')).json()
  t.ok(state.problems.includes(STRINGS.en.problem_notify_scope), 'the tab asks to re-approve the app')
})

t.test('options off: no extra command rides with the leads', async (t) => {
  const s = await setUp(t, { scope: WITH_IM })
  await deliver(s, 3)
  for (const method of ['im.notify.system.add', 'crm.activity.todo.add', 'crm.lead.get'])
    t.equal(subCalls(s.emu, s.portal, method).length, 0, `no ${method}`)
  t.same(s.portal.notifications(), [])
  t.same(s.portal.activities(), [])
})

t.test('to-do only: no notification and no look-up of the responsible user', async (t) => {
  const s = await setUp(t, { scope: WITH_IM, assigned: 2 })
  await s.app.settings.update(s.portal.memberId, { todo_minutes: 5, todo_pings: [] })
  const rows = await deliver(s, 2)
  t.equal(subCalls(s.emu, s.portal, 'crm.lead.get').length, 0)
  t.same(s.portal.notifications(), [])
  for (const r of rows)
    t.match(s.portal.activities(1, r.b24_lead_id!), [{ responsibleId: 2, pingOffsets: [] }], 'the mapped responsible')
})

t.test('simple CRM mode: the to-do and the notice go to the deal', async (t) => {
  const s = await setUp(t, { scope: WITH_IM, crmMode: 2, assigned: 2 })
  await s.app.settings.update(s.portal.memberId, SPEED)
  const rows = await deliver(s, 2)
  for (const r of rows) {
    t.equal(r.b24_entity, 'deal')
    t.match(s.portal.activities(2, r.b24_lead_id!), [{ title: STRINGS.en.todo_title, responsibleId: 2 }])
    t.match(
      s.portal.notifications(2).find((n) => n.tag === `TIKTOK_LEAD_${r.id}`)?.message,
      `/crm/deal/details/${r.b24_lead_id}/`,
    )
  }
  t.same(s.portal.activities(1), [], 'no to-do on a lead')
})

t.test('an answer lost after the batch ran: the lead is found, its extras are not made twice', async (t) => {
  const s = await setUp(t, { scope: WITH_IM })
  await s.app.settings.update(s.portal.memberId, SPEED)
  s.emu.faults.failNext(1, 'reset', { method: 'batch', memberId: s.portal.memberId })
  const rows = await deliver(s, 2)
  t.ok(
    s.emu.calls.some((c) => c.memberId === s.portal.memberId && c.method === 'crm.lead.list'),
    'the leads were looked up by ORIGIN_ID',
  )
  t.equal(s.portal.leads.size, 2, 'no lead doubled')
  for (const r of rows) {
    t.equal(s.portal.activities(1, r.b24_lead_id!).length, 1, 'one to-do')
    t.equal(s.portal.notifications(1).filter((n) => n.tag === `TIKTOK_LEAD_${r.id}`).length, 1, 'one notice')
  }
  t.equal(subCalls(s.emu, s.portal, 'crm.activity.todo.add').length, 2, 'each to-do was sent once')
})

t.test('a lead Bitrix24 refused inside the batch gets no notice or to-do until it is made', async (t) => {
  const s = await setUp(t, { scope: WITH_IM })
  await s.app.settings.update(s.portal.memberId, SPEED)
  s.emu.faults.failCommands(1, 'QUERY_LIMIT_EXCEEDED', { method: 'crm.lead.add', memberId: s.portal.memberId })
  const rows = await deliver(s, 2)
  t.ok(
    rows.some((r) => r.attempts === 2),
    'one lead went again',
  )
  for (const r of rows) {
    t.equal(s.portal.activities(1, r.b24_lead_id!).length, 1, `lead ${r.id}: one to-do`)
    t.equal(s.portal.notifications(1).filter((n) => n.tag === `TIKTOK_LEAD_${r.id}`).length, 1, 'one notice')
  }
  t.equal(s.portal.notifications(1).length, 2, 'no notice about a lead that was not made')
  t.equal(s.portal.activities().length, 2)
})

/*
 * Regression (review of issue 10): every batch re-read the portal's row (portals.find) to build
 * the speed-to-lead options, although the worker had read it for the same loop and sized the
 * batch from the same options. The claim now hands them to the send: no read between a claim
 * and the batch's outcome.
 */
t.test('the options ride from the claim to the send: the portal is not read again per batch', async (t) => {
  const s = await setUp(t, { scope: WITH_IM, assigned: 2 })
  const seen: string[] = []
  const spy = <K extends string>(obj: Record<K, (...args: never[]) => unknown>, name: K, label: string) => {
    const original = obj[name].bind(obj) as (...args: unknown[]) => unknown
    obj[name] = ((...args: unknown[]) => {
      seen.push(label)
      return original(...args)
    }) as never
  }
  spy(s.app.portals as never, 'find', 'find')
  spy(s.app.leads as never, 'claimDue', 'claim')
  spy(s.app.leads as never, 'markDelivered', 'delivered')
  /** Portal reads between each claim and its batch's outcome (the client reads the tokens there). */
  const readsPerBatch = () =>
    (seen.join(' ').match(/claim( \w+)*? delivered/g) ?? []).map((b) => b.split('find').length - 1)
  await deliver(s, 2)
  const off = readsPerBatch()
  seen.length = 0
  await s.app.settings.update(s.portal.memberId, SPEED)
  await deliver(s, 3)
  await deliver(s, 2)
  const on = readsPerBatch()
  t.equal(off.length, 1)
  t.equal(on.length, 2, 'two batches')
  t.same(on, [off[0], off[0]], 'with the options on, no more portal reads per batch than with them off')
  t.equal(s.portal.notifications(2).length, 5, 'and the options were applied')
  t.equal(s.portal.activities(1).length, 5)
})
