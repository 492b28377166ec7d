/**
 * The kit mapping screen's model (src/web/mapping/model.ts), without a browser: the connected
 * TikTok forms' questions offered as rule sources (the classic tab's formQuestions), and a
 * mapping the server saved by itself merged as the classic applyServerMapping did.
 */
import t from 'tap'
import type { TikTokView } from '../../src/settings/schemas.js'
import { en } from '../../src/settings/i18n/en.js'
import {
  editorOf,
  formQuestions,
  isKnownSource,
  mappingKey,
  mappingOf,
  nextUid,
  OTHER,
  sourceItems,
  withServerMapping,
} from '../../src/web/mapping/model.js'

const form = (pageId: string, fields: string[]): TikTokView['connections'][number]['forms'][number] => ({
  pageId,
  title: `Form ${pageId}`,
  status: 'active',
  selected: true,
  fields,
  newFields: [],
  unmappedCustom: [],
  lastBackfill: null,
  testLead: null,
})
const connection = (advertiserId: string, forms: ReturnType<typeof form>[]): TikTokView['connections'][number] => ({
  advertiserId,
  advertiserName: `Account ${advertiserId}`,
  status: 'active',
  statusText: '',
  connectedAt: '2026-01-01T00:00:00.000Z',
  connectedBy: 'Admin',
  lastCheckAt: null,
  allForms: true,
  forms,
})
const view: TikTokView = {
  configured: true,
  problems: [],
  grant: null,
  connections: [
    connection('a1', [form('p1', ['name', 'Budget']), form('p2', ['Budget', 'City'])]),
    connection('a2', [form('p3', ['Preferred time'])]),
  ],
}

t.test('formQuestions: every form of every connection, each question once, in order', async (t) => {
  t.same(formQuestions(view), ['name', 'Budget', 'City', 'Preferred time'])
  t.same(formQuestions(null), [], 'no TikTok view yet: none')
  t.same(formQuestions({ ...view, connections: [] }), [], 'no connection: none')
})

t.test('sourceItems: the forms’ questions no lead answered yet, in their own group', async (t) => {
  const items = sourceItems(['name', 'phone_number'], formQuestions(view), en)
  const labels = items.filter((i) => i.type === 'label').map((i) => i.label)
  t.same(labels.slice(0, 3), [en.group_answers, en.group_form_questions, en.group_meta], 'answers, forms, details')
  const start = items.findIndex((i) => i.label === en.group_form_questions)
  const end = items.findIndex((i) => i.label === en.group_meta)
  t.same(
    items.slice(start + 1, end).map((i) => i.value),
    ['Budget', 'City', 'Preferred time'],
    'a question already seen in leads (name) is not offered twice',
  )
  t.equal(items.at(-1)?.value, OTHER, '"other question" stays last')

  const none = sourceItems(['name', 'Budget', 'City', 'Preferred time'], formQuestions(view), en)
  t.notOk(
    none.some((i) => i.label === en.group_form_questions),
    'no group when every form question is seen already',
  )
  t.notOk(
    sourceItems([], [], en).some((i) => i.label === en.group_form_questions),
    'no group without TikTok forms',
  )
})

t.test('a rule whose source is a form question is not "other"', async (t) => {
  const fromForms = formQuestions(view)
  t.ok(isKnownSource('City', [], fromForms), 'a form question')
  t.ok(isKnownSource('meta.ad_name', [], fromForms), 'a lead detail')
  t.notOk(isKnownSource('Shoe size', ['name'], fromForms), 'a typed question no form has')
  const mapping = {
    rules: [
      { source: 'City', target: 'UF_CRM_CITY' },
      { source: 'Shoe size', target: 'UF_CRM_SIZE' },
    ],
    constants: {},
  }
  t.same(
    editorOf(mapping, ['name'], fromForms).rules.map((r) => r.other),
    [false, true],
    'with the forms known',
  )
  t.same(
    editorOf(mapping, ['name']).rules.map((r) => r.other),
    [true, true],
    'without them the form question is typed',
  )
})

t.test('withServerMapping: loaded as is when nothing is being edited', async (t) => {
  const before = editorOf({ rules: [{ source: 'name', target: 'NAME' }], constants: { OPENED: 'Y' } }, ['name'])
  const server = {
    rules: [
      { source: 'name', target: 'NAME' },
      { source: 'Budget', target: 'UF_CRM_BUDGET' },
    ],
    constants: { SOURCE_ID: 'WEB' },
  }
  const after = withServerMapping(before, server, false, ['name'], ['Budget'])
  t.equal(mappingKey(mappingOf(after, null, false)), mappingKey(server), 'the server mapping, rules and constants')
  t.same(
    after.rules.map((r) => r.other),
    [false, false],
    'the form question is a pick',
  )
})

t.test('withServerMapping: while editing, only the new rules join the unsaved edits', async (t) => {
  const edits = editorOf(
    {
      rules: [
        { source: 'name', target: 'NAME' },
        { source: 'email', target: 'UF_CRM_MAIL' },
      ],
      constants: { OPENED: 'N' },
    },
    ['name', 'email'],
  )
  edits.rules.push({ uid: nextUid(), source: 'meta.ad_name', target: '', other: false, enums: [] }) // incomplete
  const server = {
    rules: [
      { source: 'name', target: 'NAME' },
      { source: 'Budget', target: 'UF_CRM_BUDGET', enumMap: { Low: '10' } },
    ],
    constants: { OPENED: 'Y' },
  }
  const after = withServerMapping(edits, server, true, ['name', 'email'])
  t.same(
    after.rules.map((r) => [r.source, r.target]),
    [
      ['name', 'NAME'],
      ['email', 'UF_CRM_MAIL'],
      ['meta.ad_name', ''],
      ['Budget', 'UF_CRM_BUDGET'],
    ],
    'the edits in their order (the incomplete one too), then the new rule; the shared one once',
  )
  t.same(
    after.rules[3]?.enums.map((e) => [e.answer, e.id]),
    [['Low', '10']],
    "the new rule's list items",
  )
  t.equal(after.rules[3]?.other, true, 'a question neither seen nor in a form is typed')
  t.equal(after.constants.OPENED, 'N', 'the edited fixed values stay')
  t.equal(edits.rules.length, 3, 'the edits given are not changed')
})
