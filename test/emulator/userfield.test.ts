/**
 * crm.lead.userfield.add / .get / .list: what Bitrix24 accepts (the field shows in
 * crm.lead.fields and works in crm.lead.add exactly like one made with portal.addUserField),
 * what it refuses (non-admins, missing/too long/bad names, unknown types, duplicates) and how
 * it answers (the new ID as a number, items with ids, labels per language).
 * Doc paths are in github.com/bitrix24/b24restdocs.
 * @see api-reference/crm/leads/userfield/
 */
import t from 'tap'
import { callForm, callJson, startEmulator, startReceiver } from './helpers.js'

const ADD = 'api-reference/crm/leads/userfield/crm-lead-userfield-add.md'
const GET = 'api-reference/crm/leads/userfield/crm-lead-userfield-get.md'
const LIST = 'api-reference/crm/leads/userfield/crm-lead-userfield-list.md'
const INDEX = 'api-reference/crm/leads/userfield/index.md'

async function setup(t: { teardown(fn: () => unknown): void }, scope?: string) {
  const emu = await startEmulator(t, scope === undefined ? {} : { scope })
  const portal = emu.createPortal()
  const admin = portal.issueToken(1).access_token
  const manager = portal.issueToken(2).access_token
  return { emu, portal, admin, manager }
}

const budget = {
  FIELD_NAME: 'budget',
  USER_TYPE_ID: 'enumeration',
  LABEL: 'Budget',
  LIST: [
    { VALUE: 'Over $1000', SORT: 300 },
    { VALUE: 'Under $500', SORT: 100, DEF: 'Y', XML_ID: 'LOW' },
    { VALUE: '', SORT: 50 },
    { VALUE: '$500–1000', SORT: 200, DEF: 'Y' },
  ],
}

t.test(`add: the ID answers, the name gets UF_CRM_, items get ids — ${ADD}`, async (t) => {
  const { portal, admin } = await setup(t)
  const reply = await callJson(portal, 'crm.lead.userfield.add', { fields: budget }, admin)
  t.equal(reply.status, 200)
  t.equal(typeof reply.body.result, 'number', 'result is the new field ID, a number')

  const uf = portal.userFields.find((f) => f.ID === reply.body.result)
  t.equal(uf?.FIELD_NAME, 'UF_CRM_BUDGET', 'lower case goes upper, the prefix is added')
  t.same(
    uf?.LIST.map((i) => [i.VALUE, i.SORT, i.DEF]),
    [
      ['Under $500', '100', 'Y'],
      ['$500–1000', '200', 'N'],
      ['Over $1000', '300', 'N'],
    ],
    'an empty VALUE is skipped; sorted by SORT; a single field keeps the first DEF=Y only',
  )
  t.ok(
    uf?.LIST.every((i) => /^\d+$/.test(i.ID)),
    'every item has an id',
  )
  t.equal(uf?.LIST[0]?.XML_ID, 'LOW')
  t.match(uf?.LIST[1]?.XML_ID, /^[0-9a-f]{32}$/, 'an item without XML_ID gets a generated one')

  const uf2 = await callJson(
    portal,
    'crm.lead.userfield.add',
    { fields: { FIELD_NAME: 'UF_NOTE', USER_TYPE_ID: 'string' } },
    admin,
  )
  const uf3 = await callJson(
    portal,
    'crm.lead.userfield.add',
    { fields: { FIELD_NAME: 'UF_CRM_SHIFT', USER_TYPE_ID: 'string' } },
    admin,
  )
  t.same(
    portal.userFields.map((f) => f.FIELD_NAME),
    ['UF_CRM_BUDGET', 'UF_CRM_NOTE', 'UF_CRM_SHIFT'],
    'UF_X becomes UF_CRM_X; UF_CRM_X stays',
  )
  t.ok(uf3.body.result > uf2.body.result, 'ids grow')
})

t.test(
  `add: the field is in crm.lead.fields and crm.lead.add takes it — ${ADD}, api-reference/crm/leads/crm-lead-fields.md`,
  async (t) => {
    const { portal, admin } = await setup(t)
    await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'before' } }, admin)
    await callJson(portal, 'crm.lead.userfield.add', { fields: budget }, admin)
    await callJson(
      portal,
      'crm.lead.userfield.add',
      {
        fields: {
          FIELD_NAME: 'TAGS',
          USER_TYPE_ID: 'string',
          MULTIPLE: 'Y',
          LABEL: 'Tags',
          LIST_COLUMN_LABEL: { en: 'Tags (column)', de: 'Schlagwörter' },
        },
      },
      admin,
    )
    // A field made with the test helper, for comparison.
    const helperMade = portal.addUserField({
      FIELD_NAME: 'HELPER',
      USER_TYPE_ID: 'enumeration',
      LIST: [{ VALUE: 'A' }],
      EDIT_FORM_LABEL: 'Helper',
    })

    const fields = (await callJson(portal, 'crm.lead.fields', {}, admin)).body.result
    const items = portal.userFields
      .find((f) => f.FIELD_NAME === 'UF_CRM_BUDGET')
      ?.LIST.map((i) => ({ ID: i.ID, VALUE: i.VALUE }))
    t.same(fields.UF_CRM_BUDGET, {
      type: 'enumeration',
      isRequired: false,
      isReadOnly: false,
      isImmutable: false,
      isMultiple: false,
      isDynamic: true,
      items,
      title: 'UF_CRM_BUDGET',
      listLabel: 'Budget',
      formLabel: 'Budget',
      filterLabel: 'Budget',
      settings: { DISPLAY: 'LIST', LIST_HEIGHT: 1, CAPTION_NO_VALUE: '', SHOW_NO_VALUE: 'Y' },
    })
    t.match(fields.UF_CRM_TAGS, {
      type: 'string',
      isMultiple: true,
      listLabel: 'Tags (column)',
      formLabel: 'Tags',
      filterLabel: 'Tags',
    })
    t.match(fields.UF_CRM_HELPER, {
      type: 'enumeration',
      listLabel: 'Helper',
      formLabel: 'Helper',
      items: [{ ID: helperMade.LIST[0]?.ID, VALUE: 'A' }],
    })

    portal.lang = 'de'
    const german = (await callJson(portal, 'crm.lead.fields', {}, admin)).body.result
    t.match(german.UF_CRM_TAGS, { listLabel: 'Schlagwörter', formLabel: 'Tags' }, 'labels follow the portal language')

    const low = items?.[0]?.ID
    const added = await callJson(
      portal,
      'crm.lead.add',
      { fields: { TITLE: 'x', UF_CRM_BUDGET: low, UF_CRM_TAGS: ['a', 'b'] } },
      admin,
    )
    t.equal(added.status, 200)
    t.match(
      portal.leads.get(added.body.result),
      { UF_CRM_BUDGET: low, UF_CRM_TAGS: ['a', 'b'] },
      'enumeration by item ID',
    )
    t.match(
      await callJson(portal, 'crm.lead.add', { fields: { UF_CRM_BUDGET: 'Under $500' } }, admin),
      {
        status: 400,
        body: { error: '', error_description: /Budget/ },
      },
      'the item text is not a value',
    )
    t.match(
      portal.leads.get(1),
      { UF_CRM_BUDGET: null, UF_CRM_TAGS: [] },
      'a lead from before reads the new fields as empty',
    )
  },
)

t.test(`add: MANDATORY applies to crm.lead.add; boolean cannot be MULTIPLE — ${ADD}`, async (t) => {
  const { portal, admin } = await setup(t)
  await callJson(
    portal,
    'crm.lead.userfield.add',
    { fields: { FIELD_NAME: 'CONSENT', USER_TYPE_ID: 'boolean', MULTIPLE: 'Y', MANDATORY: 'Y', LABEL: 'Consent' } },
    admin,
  )
  t.match(portal.userFields[0], { MULTIPLE: 'N', MANDATORY: 'Y', SETTINGS: { DEFAULT_VALUE: 0, DISPLAY: 'CHECKBOX' } })
  t.match(await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'x' } }, admin), {
    status: 400,
    body: { error: '', error_description: /Consent/ },
  })
  t.equal((await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'x', UF_CRM_CONSENT: 'Y' } }, admin)).status, 200)
})

t.test(`add: labels per language; LABEL fills what is not given — ${ADD}, ${GET}`, async (t) => {
  const { portal, admin } = await setup(t)
  const id = (
    await callJson(
      portal,
      'crm.lead.userfield.add',
      {
        fields: {
          FIELD_NAME: 'HELLO_WORLD',
          USER_TYPE_ID: 'string',
          LABEL: 'Hello',
          LIST_FILTER_LABEL: 'Filter',
          EDIT_FORM_LABEL: { en: 'Edit', de: 'Bearbeiten' },
          XML_ID: 'HW',
          SORT: 1000,
          SETTINGS: { DEFAULT_VALUE: 'hi', ROWS: 3, NOT_A_SETTING: 1 },
        },
      },
      admin,
    )
  ).body.result
  const got = await callJson(portal, 'crm.lead.userfield.get', { id }, admin)
  t.equal(got.status, 200)
  const r = got.body.result
  t.match(r, {
    ID: String(id),
    ENTITY_ID: 'CRM_LEAD',
    FIELD_NAME: 'UF_CRM_HELLO_WORLD',
    USER_TYPE_ID: 'string',
    XML_ID: 'HW',
    SORT: '1000',
    MULTIPLE: 'N',
    MANDATORY: 'N',
    SHOW_FILTER: 'N',
    EDIT_IN_LIST: 'Y',
  })
  t.same(
    r.SETTINGS,
    { SIZE: 20, ROWS: 3, REGEXP: '', MIN_LENGTH: 0, MAX_LENGTH: 0, DEFAULT_VALUE: 'hi' },
    'unsupported SETTINGS keys are dropped',
  )
  t.match(
    r.EDIT_FORM_LABEL,
    { en: 'Edit', de: 'Bearbeiten', fr: 'Hello', ru: 'Hello' },
    'a map: LABEL for the languages not given',
  )
  t.equal(Object.keys(r.EDIT_FORM_LABEL).length, 21, 'every language the get example lists')
  t.match(r.LIST_FILTER_LABEL, { en: 'Filter', de: 'Filter', ja: 'Filter' }, 'a string: every language')
  t.match(r.LIST_COLUMN_LABEL, { en: 'Hello', de: 'Hello' }, 'not given: LABEL')
  t.match(r.HELP_MESSAGE, { en: 'Hello' })
  t.notOk('LIST' in r, 'only enumerations print LIST')
})

t.test(`add: a non-admin is refused, nothing is created — ${ADD} ("administrator CRM"), ${INDEX}`, async (t) => {
  const { portal, manager } = await setup(t)
  const reply = await callJson(
    portal,
    'crm.lead.userfield.add',
    { fields: { FIELD_NAME: 'X', USER_TYPE_ID: 'string' } },
    manager,
  )
  t.same(reply, { status: 400, body: { error: '', error_description: 'Access denied.' } })
  t.equal(portal.userFields.length, 0)
  const list = await callJson(portal, 'crm.lead.userfield.list', {}, manager)
  t.same([list.status, list.body.result, list.body.total], [200, [], 0], 'reading is for anyone who reads leads')
})

t.test(
  `add: missing FIELD_NAME / USER_TYPE_ID answer 400 with an empty code, joined — ${ADD}, api-reference/crm/contacts/userfield/crm-contact-userfield-add.md`,
  async (t) => {
    const { portal, admin } = await setup(t)
    t.match(await callJson(portal, 'crm.lead.userfield.add', { fields: { USER_TYPE_ID: 'string' } }, admin), {
      status: 400,
      body: { error: '', error_description: "The 'FIELD_NAME' field is not found." },
    })
    t.match(
      await callJson(portal, 'crm.lead.userfield.add', { fields: { FIELD_NAME: 'X', USER_TYPE_ID: '' } }, admin),
      {
        status: 400,
        body: { error: '', error_description: "The 'USER_TYPE_ID' field is not found." },
      },
    )
    t.match(await callJson(portal, 'crm.lead.userfield.add', { fields: {} }, admin), {
      status: 400,
      body: {
        error: '',
        error_description: "The 'FIELD_NAME' field is not found.\nThe 'USER_TYPE_ID' field is not found.",
      },
    })
    t.match(await callJson(portal, 'crm.lead.userfield.add', { fields: 'FIELD_NAME=X' }, admin), {
      status: 400,
      body: { error: '', error_description: "Parameter 'fields' must be array." },
    })
    t.equal(portal.userFields.length, 0)
  },
)

t.test(
  `add: too long, bad characters, unknown type, duplicate — ERROR_CORE — ${ADD}, api-reference/crm/requisites/user-fields/crm-requisite-userfield-add.md`,
  async (t) => {
    const { portal, admin } = await setup(t)
    const add = (fields: Record<string, unknown>) => callJson(portal, 'crm.lead.userfield.add', { fields }, admin)
    const code43 = 'A'.repeat(43)
    t.equal(
      (await add({ FIELD_NAME: code43, USER_TYPE_ID: 'string' })).status,
      200,
      '43 characters + UF_CRM_ = 50: accepted',
    )
    t.match(await add({ FIELD_NAME: `${code43}B`, USER_TYPE_ID: 'string' }), {
      status: 400,
      body: { error: 'ERROR_CORE', error_description: 'Field name is too long (more than 50 characters).' },
    })
    t.match(await add({ FIELD_NAME: 'BAD-NAME', USER_TYPE_ID: 'string' }), {
      status: 400,
      body: {
        error: 'ERROR_CORE',
        error_description: 'Field name contains invalid characters. Allowed characters are: A-Z, 0-9 and _.',
      },
    })
    t.match(await add({ FIELD_NAME: 'X', USER_TYPE_ID: 'varchar' }), {
      status: 400,
      body: { error: 'ERROR_CORE', error_description: 'Invalid custom type specified.' },
    })
    t.equal((await add({ FIELD_NAME: 'DUP', USER_TYPE_ID: 'string' })).status, 200)
    t.match(
      await add({ FIELD_NAME: 'uf_crm_dup', USER_TYPE_ID: 'integer' }),
      {
        status: 400,
        body: {
          error: 'ERROR_CORE',
          error_description: 'The field UF_CRM_DUP for the CRM_LEAD object already exists.',
        },
      },
      'the same full name in another spelling is a duplicate',
    )
    portal.addUserField({ FIELD_NAME: 'HELPER', USER_TYPE_ID: 'string' })
    t.match(
      await add({ FIELD_NAME: 'HELPER', USER_TYPE_ID: 'string' }),
      { status: 400, body: { error: 'ERROR_CORE' } },
      'a helper-made field counts too',
    )
    t.match(
      await add({
        FIELD_NAME: 'LISTED',
        USER_TYPE_ID: 'enumeration',
        LIST: [
          { VALUE: 'a', XML_ID: 'K' },
          { VALUE: 'b', XML_ID: 'K' },
        ],
      }),
      { status: 400, body: { error: 'ERROR_CORE', error_description: 'List item with XML_ID=K already exists.' } },
    )
    t.same(
      portal.userFields.map((f) => f.FIELD_NAME),
      [`UF_CRM_${code43}`, 'UF_CRM_DUP', 'UF_CRM_HELPER'],
      'nothing refused was stored',
    )
  },
)

t.test(`add without the crm scope: insufficient_scope — _includes/system-errors.md, ${ADD} (Scope: crm)`, async (t) => {
  const { portal, admin } = await setup(t, 'placement,user_brief')
  t.match(
    await callJson(portal, 'crm.lead.userfield.add', { fields: { FIELD_NAME: 'X', USER_TYPE_ID: 'string' } }, admin),
    {
      status: 403,
      body: { error: 'insufficient_scope' },
    },
  )
  t.equal(portal.userFields.length, 0)
})

t.test(`add inside batch, form-encoded commands — ${ADD}, settings/how-to-call-rest-api/batch.md`, async (t) => {
  const { emu, portal, admin, manager } = await setup(t)
  const cmd = {
    budget:
      'crm.lead.userfield.add?fields[FIELD_NAME]=BUDGET&fields[USER_TYPE_ID]=enumeration&fields[LABEL]=Budget&fields[LIST][0][VALUE]=Low&fields[LIST][1][VALUE]=High',
    note: 'crm.lead.userfield.add?fields[FIELD_NAME]=NOTE&fields[USER_TYPE_ID]=string',
    again: 'crm.lead.userfield.add?fields[FIELD_NAME]=NOTE&fields[USER_TYPE_ID]=string',
    list: 'crm.lead.userfield.list?filter[LANG]=en',
  }
  const reply = await callJson(portal, 'batch', { halt: 0, cmd }, admin)
  t.equal(reply.status, 200)
  const r = reply.body.result
  t.equal(typeof r.result.budget, 'number')
  t.equal(typeof r.result.note, 'number')
  t.match(r.result_error, { again: { error: 'ERROR_CORE', error_description: /UF_CRM_NOTE .*already exists/ } })
  t.same(
    r.result.list.map((f: { FIELD_NAME: string }) => f.FIELD_NAME),
    ['UF_CRM_BUDGET', 'UF_CRM_NOTE'],
    'a later command sees the new fields',
  )
  t.match(r.result.list[0], { EDIT_FORM_LABEL: 'Budget', LIST: [{ VALUE: 'Low' }, { VALUE: 'High' }] })
  t.equal(r.result_total.list, 2)
  t.same(
    emu.calls.filter((c) => c.inBatch).map((c) => [c.method, c.status]),
    [
      ['crm.lead.userfield.add', 200],
      ['crm.lead.userfield.add', 200],
      ['crm.lead.userfield.add', 400],
      ['crm.lead.userfield.list', 200],
    ],
  )
  const denied = await callJson(
    portal,
    'batch',
    { cmd: { x: 'crm.lead.userfield.add?fields[FIELD_NAME]=X&fields[USER_TYPE_ID]=string' } },
    manager,
  )
  t.match(
    denied.body.result.result_error,
    { x: { error: '', error_description: 'Access denied.' } },
    'a batch runs as its caller',
  )
})

t.test(
  `add tells bound handlers: ONCRMLEADUSERFIELDADD — api-reference/crm/leads/userfield/events/on-crm-lead-user-field-add.md`,
  async (t) => {
    const { emu, portal, admin } = await setup(t)
    const receiver = await startReceiver(t)
    portal.installed = true
    portal.applicationToken = 'app-token'
    t.equal(
      (
        await callJson(
          portal,
          'event.bind',
          { event: 'ONCRMLEADUSERFIELDADD', handler: `${receiver.url}/events` },
          admin,
        )
      ).status,
      200,
    )
    const id = (
      await callForm(
        portal,
        'crm.lead.userfield.add',
        { fields: { FIELD_NAME: 'SEEN', USER_TYPE_ID: 'string' } },
        admin,
      )
    ).body.result
    await emu.settled()
    const hit = await receiver.waitFor((r) => r.path === '/events')
    t.match(hit.form, {
      event: 'ONCRMLEADUSERFIELDADD',
      data: { FIELDS: { ID: String(id), ENTITY_ID: 'CRM_LEAD', FIELD_NAME: 'UF_CRM_SEEN' } },
    })
  },
)

t.test(`get: by id; bad id 400; unknown ERROR_NOT_FOUND — ${GET}`, async (t) => {
  const { portal, admin, manager } = await setup(t)
  const id = (await callJson(portal, 'crm.lead.userfield.add', { fields: budget }, admin)).body.result
  const got = await callJson(portal, 'crm.lead.userfield.get', { id: String(id) }, manager)
  t.equal(got.status, 200)
  t.match(got.body.result, {
    ID: String(id),
    FIELD_NAME: 'UF_CRM_BUDGET',
    LIST: [{ ID: /^\d+$/, VALUE: 'Under $500', SORT: '100', DEF: 'Y', XML_ID: 'LOW' }],
  })
  t.match(await callJson(portal, 'crm.lead.userfield.get', { id: 0 }, admin), {
    status: 400,
    body: { error: '', error_description: 'ID is not defined or invalid.' },
  })
  t.match(await callJson(portal, 'crm.lead.userfield.get', {}, admin), {
    status: 400,
    body: { error_description: 'ID is not defined or invalid.' },
  })
  t.match(await callJson(portal, 'crm.lead.userfield.get', { id: 99999 }, admin), {
    status: 400,
    body: { error: 'ERROR_NOT_FOUND', error_description: "The entity with ID '99999' is not found." },
  })
})

t.test(`list: filter, LANG, order, total; bad filter/order 400 — ${LIST}`, async (t) => {
  const { portal, admin } = await setup(t)
  const add = (fields: Record<string, unknown>) => callJson(portal, 'crm.lead.userfield.add', { fields }, admin)
  await add({
    FIELD_NAME: 'B',
    USER_TYPE_ID: 'string',
    SORT: 200,
    MULTIPLE: 'Y',
    LABEL: 'Bee',
    EDIT_FORM_LABEL: { de: 'Biene' },
  })
  await add({ FIELD_NAME: 'A', USER_TYPE_ID: 'integer', SORT: 200 })
  await add({ FIELD_NAME: 'C', USER_TYPE_ID: 'string', SORT: 100, MULTIPLE: 'Y' })

  const all = await callJson(portal, 'crm.lead.userfield.list', {}, admin)
  t.same(
    all.body.result.map((f: { FIELD_NAME: string }) => f.FIELD_NAME),
    ['UF_CRM_C', 'UF_CRM_B', 'UF_CRM_A'],
    'default order: SORT, then ID',
  )
  t.equal(all.body.total, 3)
  t.notOk('EDIT_FORM_LABEL' in all.body.result[0], 'without LANG no labels')

  const multiple = await callJson(
    portal,
    'crm.lead.userfield.list',
    { filter: { MULTIPLE: 'Y', LANG: 'de' }, order: { FIELD_NAME: 'DESC' } },
    admin,
  )
  t.same(
    multiple.body.result.map((f: { FIELD_NAME: string }) => f.FIELD_NAME),
    ['UF_CRM_C', 'UF_CRM_B'],
  )
  t.match(multiple.body.result[1], { EDIT_FORM_LABEL: 'Biene', LIST_COLUMN_LABEL: 'Bee', ERROR_MESSAGE: 'Bee' })
  t.match(multiple.body.result[0], { EDIT_FORM_LABEL: null, HELP_MESSAGE: null }, 'an empty label is null')
  t.equal(multiple.body.total, 2)

  const byType = await callJson(portal, 'crm.lead.userfield.list', { filter: { USER_TYPE_ID: 'integer' } }, admin)
  t.same(
    byType.body.result.map((f: { FIELD_NAME: string }) => f.FIELD_NAME),
    ['UF_CRM_A'],
  )

  t.match(await callJson(portal, 'crm.lead.userfield.list', { filter: 'MULTIPLE' }, admin), {
    status: 400,
    body: { error: '', error_description: "Parameter 'filter' must be array." },
  })
  t.match(await callJson(portal, 'crm.lead.userfield.list', { order: 'ID' }, admin), {
    status: 400,
    body: { error: '', error_description: "Parameter 'order' must be array." },
  })
})
