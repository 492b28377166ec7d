/**
 * The speed-to-lead pieces on their own: how many leads fit a batch with their extras
 * (limits.ts), the extra commands each lead carries (lead-commands.ts), and how their outcomes
 * are read without touching the lead's (batch-results.ts).
 */
import t from 'tap'
import { leadsPerBatch, MAX_BATCH_COMMANDS } from '../../src/bitrix24/limits.js'
import { sortExtras } from '../../src/delivery/batch-results.js'
import { extrasPerLead, isoWithOffset, type SpeedToLead, speedCommands } from '../../src/delivery/lead-commands.js'

const both: SpeedToLead = {
  notify: true,
  todo: { minutes: 30, pings: [0, 15] },
  cardUrl: 'https://x.bitrix24.com/crm/lead/details/#ID#/',
  todoTitle: 'Call this TikTok lead',
  notifyText: 'New lead from TikTok: {link}',
}

t.test('leads per batch: 50 commands shared by each lead and its extras', async (t) => {
  t.equal(leadsPerBatch(1), 50)
  t.equal(leadsPerBatch(2), 25, 'simple mode, or one extra')
  t.equal(leadsPerBatch(3), 16)
  t.equal(leadsPerBatch(4), 12, 'classic mode with a notification (look-up + notice) and a to-do')
  t.equal(leadsPerBatch(100), 1, 'never zero')
  t.equal(leadsPerBatch(0), MAX_BATCH_COMMANDS)
  t.equal(extrasPerLead(null, false), 0)
  t.equal(extrasPerLead(both, false), 3)
  t.equal(extrasPerLead(both, true), 2, "simple mode reads the responsible from the deal's own answer")
  t.equal(extrasPerLead({ ...both, notify: false }, false), 1)
  for (const simple of [false, true])
    for (const s of [both, { ...both, notify: false }, { ...both, todo: null }]) {
      const perLead = (simple ? 2 : 1) + extrasPerLead(s, simple)
      t.ok(leadsPerBatch(perLead) * perLead <= MAX_BATCH_COMMANDS, `a full batch fits (${perLead} per lead)`)
    }
})

t.test('the extra commands reference the lead unencoded and carry the options', async (t) => {
  const now = Date.UTC(2026, 0, 15, 12, 0, 30, 500)
  const { commands, keys } = speedCommands(both, {
    rowId: 7,
    ownerKey: 'lead_7',
    simple: false,
    fields: { TITLE: 'TikTok [lead] An', ASSIGNED_BY_ID: 2 },
    now,
  })
  t.same(keys, { get: 'g_7', notify: 'n_7', todo: 't_7' })
  t.same(Object.keys(commands), ['g_7', 't_7', 'n_7'], 'the look-up before the notice that reads it')
  t.equal(commands.g_7, 'crm.lead.get?id=$result[lead_7]')
  const todo = new URLSearchParams(commands.t_7!.split('?')[1])
  t.equal(todo.get('ownerTypeId'), '1')
  t.equal(todo.get('ownerId'), '$result[lead_7]')
  t.equal(todo.get('responsibleId'), '$result[g_7][ASSIGNED_BY_ID]')
  t.equal(todo.get('deadline'), '2026-01-15T12:30:30+00:00', 'ISO 8601 with its offset, 30 min on')
  t.same([todo.get('pingOffsets[0]'), todo.get('pingOffsets[1]')], ['0', '15'])
  t.equal(todo.get('title'), 'Call this TikTok lead')
  const note = new URLSearchParams(commands.n_7!.split('?')[1])
  t.equal(note.get('USER_ID'), '$result[g_7][ASSIGNED_BY_ID]', 'addressed to whom Bitrix24 made responsible')
  t.equal(note.get('TAG'), 'TIKTOK_LEAD_7')
  t.equal(
    note.get('MESSAGE'),
    'New lead from TikTok: [URL=https://x.bitrix24.com/crm/lead/details/$result[lead_7]/]TikTok lead An[/URL]',
    'brackets of the title cannot break the link',
  )

  const simple = speedCommands(both, { rowId: 8, ownerKey: 'd_8', simple: true, fields: {}, now })
  t.same(simple.keys, { notify: 'n_8', todo: 't_8' }, 'no look-up in simple mode')
  const st = new URLSearchParams(simple.commands.t_8!.split('?')[1])
  t.same([st.get('ownerTypeId'), st.get('ownerId')], ['2', '$result[d_8][item][id]'])
  t.equal(st.get('responsibleId'), '$result[d_8][item][assignedById]')
  t.match(
    new URLSearchParams(simple.commands.n_8!.split('?')[1]).get('MESSAGE'),
    '/crm/deal/details/$result[d_8][item][id]/',
  )

  const todoOnly = speedCommands(
    { ...both, notify: false },
    { rowId: 9, ownerKey: 'lead_9', simple: false, fields: { ASSIGNED_BY_ID: '5' }, now },
  )
  t.same(Object.keys(todoOnly.commands), ['t_9'])
  t.equal(new URLSearchParams(todoOnly.commands.t_9!.split('?')[1]).get('responsibleId'), '5', 'the mapped responsible')
  const unmapped = speedCommands(
    { ...both, notify: false },
    { rowId: 9, ownerKey: 'lead_9', simple: false, fields: {}, now },
  )
  t.notOk(new URLSearchParams(unmapped.commands.t_9!.split('?')[1]).has('responsibleId'), 'none: the app user is')
  t.equal(isoWithOffset(Date.UTC(2026, 4, 1, 8, 5, 9, 999)), '2026-05-01T08:05:09+00:00')
})

t.test('extras outcomes: a failure stays, a success clears, nothing said when none ran', async (t) => {
  const keys = (id: number) => ({ get: `g_${id}`, notify: `n_${id}`, todo: `t_${id}` })
  t.same(sortExtras([], { result: {}, result_error: {} }), {})
  t.same(
    sortExtras([keys(1), keys(2)], {
      result: { g_1: {}, n_1: 11, t_1: { id: 3 }, g_2: {}, n_2: 12, t_2: { id: 4 } },
      result_error: [],
    }),
    { notify_error: null, todo_error: null },
  )
  t.same(
    sortExtras([keys(1), keys(2)], {
      result: { g_1: {}, t_1: { id: 3 }, g_2: {}, t_2: { id: 4 } },
      result_error: {
        n_1: { error: 'insufficient_scope', error_description: 'The request requires higher privileges' },
        n_2: { error: 'insufficient_scope', error_description: 'The request requires higher privileges' },
      },
    }),
    { notify_error: 'insufficient_scope: The request requires higher privileges', todo_error: null },
  )
  const mixed = sortExtras([keys(1), keys(2)], {
    result: { g_1: {}, n_1: 11, t_1: { id: 3 }, g_2: {}, n_2: false },
    result_error: { t_2: { error: 'ACCESS_DENIED', error_description: '' } },
  })
  t.match(mixed.notify_error, /result false/, 'a notice Bitrix24 did not make is a failure')
  t.equal(mixed.todo_error, 'ACCESS_DENIED', 'a later failure is not hidden by an earlier success')
  t.match(
    sortExtras([{ get: 'g_1', notify: 'n_1' }], {
      result: {},
      result_error: { g_1: { error: 'ACCESS_DENIED', error_description: 'no' }, n_1: { error: 'USER_ID_EMPTY' } },
    }).notify_error,
    /^ACCESS_DENIED/,
    'the look-up’s failure is the reason, not the empty USER_ID it left',
  )
})
