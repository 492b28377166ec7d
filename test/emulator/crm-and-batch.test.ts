/**
 * CRM methods and batch (one file for both keeps the suite fast: tap runs each file in its own
 * process).
 * - crm.lead.* field rules: what Bitrix24 rejects (unknown statuses, bad enumeration ids, missing
 *   mandatory user fields, unknown users) answers 400 with an empty code; what it ignores (PHONE
 *   as a plain string, unknown fields, unknown UF_*) stores nothing. Plus list filters/paging,
 *   crm.lead.fields, duplicates, statuses and simple CRM mode.
 *   @see api-reference/crm/leads/, api-reference/crm/duplicates/crm-duplicate-find-by-comm.md
 * - batch: halt 0/1, the 50-command limit, $result substitution, per-command result_error, PHP
 *   array printing for list and map `cmd`, sub-commands recorded with inBatch.
 *   @see settings/how-to-call-rest-api/batch.md
 */
import t from 'tap'
import type { Portal } from './index.js'
import { callForm, callJson, startEmulator, startReceiver } from './helpers.js'

// ---- crm-lead ----------------------------------------------------------------

async function setup(t: { teardown(fn: () => unknown): void }) {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  portal.addUserField({
    FIELD_NAME: 'UF_CRM_QUALITY',
    USER_TYPE_ID: 'enumeration',
    LIST: [{ VALUE: 'Hot' }, { VALUE: 'Cold' }],
    EDIT_FORM_LABEL: 'Quality',
  })
  portal.addUserField({ FIELD_NAME: 'CAMPAIGN', USER_TYPE_ID: 'string', EDIT_FORM_LABEL: 'Campaign' })
  const { access_token } = portal.issueToken()
  return { emu, portal, token: access_token }
}

function itemId(portal: Portal, field: string, value: string): string {
  const uf = portal.userFields.find((f) => f.FIELD_NAME === field)
  const item = uf?.LIST.find((i) => i.VALUE === value)
  if (!item) throw new Error(`no item ${value}`)
  return item.ID
}

t.test('crm.lead.add stores what the portal stores', async (t) => {
  const { portal, token } = await setup(t)
  const hot = itemId(portal, 'UF_CRM_QUALITY', 'Hot')
  const reply = await callJson(
    portal,
    'crm.lead.add',
    {
      fields: {
        TITLE: 'TikTok lead',
        NAME: 'Lan',
        PHONE: [{ VALUE: '+84 912 345 678', VALUE_TYPE: 'MOBILE' }],
        EMAIL: [{ VALUE: 'lan@example.test', VALUE_TYPE: 'WORK' }],
        SOURCE_ID: 'WEB',
        ORIGINATOR_ID: 'tiktok',
        ORIGIN_ID: 'lead-1',
        OPENED: 'N',
        UF_CRM_QUALITY: hot,
        UF_CRM_CAMPAIGN: 'spring',
        UF_CRM_UNKNOWN: 'ignored',
        NOT_A_FIELD: 'ignored',
        DATE_CREATE: '2000-01-01T00:00:00+00:00',
      },
      params: { REGISTER_SONET_EVENT: 'N' },
    },
    token,
  )
  t.same([reply.status, reply.body.result], [200, 1])
  const lead = portal.leads.get(1)
  t.match(lead, {
    ID: '1',
    TITLE: 'TikTok lead',
    NAME: 'Lan',
    SOURCE_ID: 'WEB',
    STATUS_ID: 'NEW',
    STATUS_SEMANTIC_ID: 'P',
    ORIGINATOR_ID: 'tiktok',
    ORIGIN_ID: 'lead-1',
    OPENED: 'N',
    ASSIGNED_BY_ID: '1',
    HAS_PHONE: 'Y',
    HAS_EMAIL: 'Y',
    UF_CRM_QUALITY: hot,
    UF_CRM_CAMPAIGN: 'spring',
    PHONE: [{ ID: /^\d+$/, VALUE: '+84 912 345 678', VALUE_TYPE: 'MOBILE', TYPE_ID: 'PHONE' }],
  })
  t.notOk(lead && 'UF_CRM_UNKNOWN' in lead, 'unknown UF ignored')
  t.notOk(lead && 'NOT_A_FIELD' in lead, 'unknown field ignored')
  t.not(lead?.['DATE_CREATE'], '2000-01-01T00:00:00+00:00', 'read-only field ignored')

  const got = await callJson(portal, 'crm.lead.get', { id: 1 }, token)
  t.same(got.body.result, lead, 'crm.lead.get answers the stored lead')
})

t.test('PHONE as a plain string stores nothing; as a list it is stored', async (t) => {
  const { portal, token } = await setup(t)
  const plain = await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'a', PHONE: '+84912345678' } }, token)
  t.equal(plain.status, 200, 'no error: the portal silently ignores it')
  t.notOk('PHONE' in (portal.leads.get(1) ?? {}))
  t.equal(portal.leads.get(1)?.['HAS_PHONE'], 'N')

  const strings = await callJson(portal, 'crm.lead.add', { fields: { PHONE: ['+84912345678'] } }, token)
  t.equal(strings.status, 200)
  t.notOk('PHONE' in (portal.leads.get(2) ?? {}), 'a list of strings is not a multifield either')

  const form = await callForm(
    portal,
    'crm.lead.add',
    { fields: { PHONE: { n0: { VALUE: '+84912345678', VALUE_TYPE: 'WORK' } } } },
    token,
  )
  t.equal(form.status, 200)
  t.match(
    portal.leads.get(3),
    { PHONE: [{ VALUE: '+84912345678', VALUE_TYPE: 'WORK' }], TITLE: 'Lead #3' },
    'default title',
  )
})

t.test('rejected fields answer 400 with an empty code', async (t) => {
  const { portal, token } = await setup(t)
  portal.addUserField({
    FIELD_NAME: 'UF_CRM_CONSENT',
    USER_TYPE_ID: 'boolean',
    MANDATORY: 'Y',
    EDIT_FORM_LABEL: 'Consent',
  })

  const missingRequired = await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'x' } }, token)
  t.match(missingRequired, { status: 400, body: { error: '', error_description: /Consent/ } })

  const base = { TITLE: 'x', UF_CRM_CONSENT: 'Y' }
  t.equal((await callJson(portal, 'crm.lead.add', { fields: base }, token)).status, 200, 'required UF given')
  t.match(await callJson(portal, 'crm.lead.add', { fields: { ...base, UF_CRM_QUALITY: '999' } }, token), {
    status: 400,
    body: { error: '', error_description: /Quality/ },
  })
  t.match(
    await callJson(portal, 'crm.lead.add', { fields: { ...base, UF_CRM_QUALITY: 'Hot' } }, token),
    {
      status: 400,
    },
    'an enumeration takes the item id, not its text',
  )
  t.match(await callJson(portal, 'crm.lead.add', { fields: { ...base, SOURCE_ID: 'TIKTOK' } }, token), {
    status: 400,
    body: { error: '', error_description: /Source/ },
  })
  t.match(await callJson(portal, 'crm.lead.add', { fields: { ...base, STATUS_ID: 'WON' } }, token), { status: 400 })
  t.match(await callJson(portal, 'crm.lead.add', { fields: { ...base, ASSIGNED_BY_ID: 77 } }, token), {
    status: 400,
    body: { error_description: /Responsible/ },
  })
  t.match(await callJson(portal, 'crm.lead.add', {}, token), {
    status: 400,
    body: { error: '', error_description: "Parameter 'fields' must be array." },
  })
  t.equal(portal.leads.size, 1, 'nothing stored by the rejected calls')

  portal.statuses.push({ ...portal.statuses[0]!, ID: '900', STATUS_ID: 'TIKTOK', NAME: 'TikTok' })
  t.equal(
    (await callJson(portal, 'crm.lead.add', { fields: { ...base, SOURCE_ID: 'TIKTOK' } }, token)).status,
    200,
    'a custom source, once it exists',
  )
})

t.test('crm.lead.list: filters (arrays are IN), select, order, pages of 50', async (t) => {
  const { portal, token } = await setup(t)
  // 120 leads in three batches: three requests, well inside the bucket.
  for (let b = 0; b < 3; b++) {
    const cmd: Record<string, string> = {}
    for (let i = b * 40 + 1; i <= b * 40 + 40; i++) {
      cmd[`lead_${i}`] =
        `crm.lead.add?fields[TITLE]=L${i}&fields[ORIGINATOR_ID]=${i % 2 ? 'tiktok' : 'other'}&fields[ORIGIN_ID]=o-${i}`
    }
    t.equal((await callJson(portal, 'batch', { halt: 0, cmd }, token)).status, 200)
  }
  const byOrigin = await callJson(
    portal,
    'crm.lead.list',
    { filter: { ORIGINATOR_ID: 'tiktok', ORIGIN_ID: ['o-1', 'o-2', 'o-3', 'o-999'] }, select: ['ID', 'ORIGIN_ID'] },
    token,
  )
  t.same(byOrigin.body.result, [
    { ID: '1', ORIGIN_ID: 'o-1' },
    { ID: '3', ORIGIN_ID: 'o-3' },
  ])
  t.equal(byOrigin.body.total, 2)
  t.notOk('next' in byOrigin.body)

  const viaForm = await callForm(
    portal,
    'crm.lead.list',
    { filter: { '@ORIGIN_ID': ['o-4', 'o-5'] }, select: ['ID'] },
    token,
  )
  t.same(viaForm.body.result, [{ ID: '4' }, { ID: '5' }], 'form-encoded @ (IN)')

  const page1 = await callJson(portal, 'crm.lead.list', { select: ['ID'] }, token)
  t.equal(page1.body.result.length, 50)
  t.same([page1.body.total, page1.body.next], [120, 50])
  const page3 = await callJson(portal, 'crm.lead.list', { select: ['ID'], start: 100 }, token)
  t.equal(page3.body.result.length, 20)
  t.notOk('next' in page3.body)
  t.equal(page3.body.result[0].ID, '101')

  const desc = await callJson(
    portal,
    'crm.lead.list',
    { order: { ID: 'DESC' }, filter: { '>ID': 117 }, select: ['ID'] },
    token,
  )
  t.same(desc.body.result, [{ ID: '120' }, { ID: '119' }, { ID: '118' }])

  const star = await callJson(portal, 'crm.lead.list', { filter: { ID: 1 } }, token)
  t.ok(
    'TITLE' in star.body.result[0] && !('PHONE' in star.body.result[0]) && !('UF_CRM_QUALITY' in star.body.result[0]),
    'default select: standard fields only',
  )
  const uf = await callJson(portal, 'crm.lead.list', { filter: { ID: 1 }, select: ['UF_*'] }, token)
  t.same(Object.keys(uf.body.result[0]).sort(), ['ID', 'UF_CRM_CAMPAIGN', 'UF_CRM_QUALITY'])
})

t.test('crm.lead.update changes fields and notifies ONCRMLEADUPDATE', async (t) => {
  const { emu, portal, token } = await setup(t)
  const receiver = await startReceiver(t)
  await callJson(portal, 'crm.lead.add', { fields: { TITLE: 'a', PHONE: [{ VALUE: '1', VALUE_TYPE: 'WORK' }] } }, token)
  // The app must be installed and bound for the event to go out.
  portal.installed = true
  portal.applicationToken = 'app-token'
  t.equal(
    (await callJson(portal, 'event.bind', { event: 'ONCRMLEADUPDATE', handler: `${receiver.url}/events` }, token))
      .status,
    200,
  )

  const phoneId = (portal.leads.get(1)!['PHONE'] as Array<{ ID: string }>)[0]?.ID
  const reply = await callJson(
    portal,
    'crm.lead.update',
    {
      id: 1,
      fields: {
        STATUS_ID: 'IN_PROCESS',
        PHONE: [
          { ID: phoneId, VALUE: '' },
          { VALUE: '2', VALUE_TYPE: 'HOME' },
        ],
      },
    },
    token,
  )
  t.same([reply.status, reply.body.result], [200, true])
  t.match(portal.leads.get(1), { STATUS_ID: 'IN_PROCESS', PHONE: [{ VALUE: '2', VALUE_TYPE: 'HOME' }] })
  t.equal((portal.leads.get(1)!['PHONE'] as unknown[]).length, 1, 'an entry with its ID and an empty VALUE is removed')

  await emu.settled()
  const hit = await receiver.waitFor((r) => r.path === '/events')
  t.match(hit.form, {
    event: 'ONCRMLEADUPDATE',
    data: { FIELDS: { ID: '1' } },
    auth: { application_token: 'app-token', member_id: portal.memberId },
  })

  t.match(await callJson(portal, 'crm.lead.update', { id: 99, fields: { TITLE: 'x' } }, token), {
    status: 400,
    body: { error: '', error_description: 'Not found' },
  })
  t.match(await callJson(portal, 'crm.lead.get', { id: 'abc' }, token), {
    status: 400,
    body: { error_description: 'ID is not defined or invalid.' },
  })
})

t.test('crm.lead.fields describes standard and user fields', async (t) => {
  const { portal, token } = await setup(t)
  const reply = await callJson(portal, 'crm.lead.fields', {}, token)
  const f = reply.body.result
  t.same(f.ID, {
    type: 'integer',
    isRequired: false,
    isReadOnly: true,
    isImmutable: false,
    isMultiple: false,
    isDynamic: false,
    title: 'ID',
  })
  t.match(f.SOURCE_ID, { type: 'crm_status', statusType: 'SOURCE', isReadOnly: false })
  t.match(f.PHONE, { type: 'crm_multifield', isMultiple: true })
  t.match(f.UF_CRM_QUALITY, {
    type: 'enumeration',
    isDynamic: true,
    title: 'UF_CRM_QUALITY',
    listLabel: 'Quality',
    formLabel: 'Quality',
    items: [
      { ID: /^\d+$/, VALUE: 'Hot' },
      { ID: /^\d+$/, VALUE: 'Cold' },
    ],
  })
})

t.test('crm.duplicate.findbycomm', async (t) => {
  const { portal, token } = await setup(t)
  await callJson(
    portal,
    'crm.lead.add',
    { fields: { PHONE: [{ VALUE: '+84 (912) 345-678', VALUE_TYPE: 'WORK' }] } },
    token,
  )
  await callJson(
    portal,
    'crm.lead.add',
    { fields: { EMAIL: [{ VALUE: 'Lan@Example.test', VALUE_TYPE: 'WORK' }] } },
    token,
  )
  t.same(
    (
      await callJson(
        portal,
        'crm.duplicate.findbycomm',
        { entity_type: 'LEAD', type: 'PHONE', values: ['+84912345678'] },
        token,
      )
    ).body.result,
    { LEAD: [1] },
  )
  t.same(
    (await callJson(portal, 'crm.duplicate.findbycomm', { type: 'EMAIL', values: ['lan@example.test'] }, token)).body
      .result,
    { LEAD: [2] },
  )
  t.same(
    (await callJson(portal, 'crm.duplicate.findbycomm', { type: 'PHONE', values: ['+1000'] }, token)).body.result,
    [],
    'nothing found: an empty array, not an object',
  )
  t.match(await callJson(portal, 'crm.duplicate.findbycomm', { type: 'PHONE', values: '+84912345678' }, token), {
    status: 400,
    body: { error_description: /values is not defined/ },
  })
  const many = Array.from({ length: 21 }, (_, i) => `+1${i}`)
  t.equal((await callJson(portal, 'crm.duplicate.findbycomm', { type: 'PHONE', values: many }, token)).status, 400)
})

t.test('crm.status.list, crm.settings.mode.get and simple mode', async (t) => {
  const emu = await startEmulator(t)
  const classic = emu.createPortal()
  const simple = emu.createPortal({ crmMode: 2 })
  const c = classic.issueToken()
  const s = simple.issueToken()
  const sources = await callJson(classic, 'crm.status.list', { filter: { ENTITY_ID: 'SOURCE' } }, c.access_token)
  t.same(
    sources.body.result.map((r: { STATUS_ID: string }) => r.STATUS_ID),
    [
      'CALL',
      'EMAIL',
      'WEB',
      'ADVERTISING',
      'PARTNER',
      'RECOMMENDATION',
      'TRADE_SHOW',
      'WEBFORM',
      'CALLBACK',
      'RC_GENERATOR',
      'STORE',
      'OTHER',
    ],
  )
  const stages = await callJson(classic, 'crm.status.list', { filter: { ENTITY_ID: 'STATUS' } }, c.access_token)
  t.same(
    stages.body.result.map((r: { STATUS_ID: string }) => r.STATUS_ID),
    ['NEW', 'IN_PROCESS', 'PROCESSED', 'CONVERTED', 'JUNK'],
  )

  t.equal((await callJson(classic, 'crm.settings.mode.get', {}, c.access_token)).body.result, 1)
  t.equal((await callJson(simple, 'crm.settings.mode.get', {}, s.access_token)).body.result, 2)

  const added = await callJson(
    simple,
    'crm.lead.add',
    { fields: { NAME: 'Lan', PHONE: [{ VALUE: '+1', VALUE_TYPE: 'WORK' }] } },
    s.access_token,
  )
  t.equal(added.status, 200, 'simple mode still answers an id')
  t.match(simple.leads.get(1), { STATUS_ID: 'CONVERTED', STATUS_SEMANTIC_ID: 'S' })
  const deals = await callJson(simple, 'crm.deal.list', { filter: { LEAD_ID: 1 } }, s.access_token)
  t.equal(deals.body.total, 1, 'a deal was made from the lead')
  t.equal(simple.contacts.size, 1)
  const contact = await callJson(
    simple,
    'crm.contact.add',
    { fields: { NAME: 'B', EMAIL: [{ VALUE: 'b@x.test' }] } },
    s.access_token,
  )
  const deal = await callJson(
    simple,
    'crm.deal.add',
    { fields: { TITLE: 'T', CONTACT_ID: contact.body.result } },
    s.access_token,
  )
  t.match(simple.deals.get(deal.body.result), { CONTACT_ID: String(contact.body.result), STAGE_ID: 'NEW' })
})

// ---- batch -------------------------------------------------------------------

t.test('halt=0 runs everything; failures sit in result_error under their key', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  const reply = await callJson(
    portal,
    'batch',
    {
      halt: 0,
      cmd: {
        lead_1: 'crm.lead.add?fields[TITLE]=one',
        lead_2: 'crm.lead.add?fields[SOURCE_ID]=NOPE',
        lead_3: 'crm.lead.add?fields%5BTITLE%5D=three',
        missing: 'no.such.method',
      },
    },
    access_token,
  )
  t.equal(reply.status, 200, 'the batch itself answers 200')
  t.same(Object.keys(reply.body), ['result', 'time'])
  const r = reply.body.result
  t.same(Object.keys(r), ['result', 'result_error', 'result_total', 'result_next', 'result_time'])
  t.same(r.result, { lead_1: 1, lead_3: 2 })
  t.match(r.result_error, {
    lead_2: { error: '', error_description: /Source/ },
    missing: { error: 'ERROR_METHOD_NOT_FOUND' },
  })
  t.same(r.result_total, [])
  t.same(r.result_next, [])
  t.same(Object.keys(r.result_time), ['lead_1', 'lead_3'])
  t.equal(portal.leads.size, 2)

  const subs = emu.calls.filter((c) => c.inBatch)
  t.same(
    subs.map((c) => [c.method, c.status]),
    [
      ['crm.lead.add', 200],
      ['crm.lead.add', 400],
      ['crm.lead.add', 200],
      ['no.such.method', 404],
    ],
  )
  t.equal(emu.calls.filter((c) => !c.inBatch).length, 1)
})

t.test('halt=1 stops at the first error', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  const reply = await callForm(
    portal,
    'batch',
    {
      halt: 1,
      cmd: { a: 'crm.lead.add?fields[TITLE]=a', b: 'crm.lead.get?id=999', c: 'crm.lead.add?fields[TITLE]=c' },
    },
    access_token,
  )
  t.same(reply.body.result.result, { a: 1 })
  t.match(reply.body.result.result_error, { b: { error: '', error_description: 'Not found' } })
  t.notOk('c' in reply.body.result.result_error)
  t.equal(portal.leads.size, 1, 'c never ran')
})

t.test('$result substitution and list results', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  const reply = await callJson(
    portal,
    'batch',
    {
      cmd: {
        add: 'crm.lead.add?fields[TITLE]=first&fields[ORIGIN_ID]=o-1',
        get: 'crm.lead.get?id=$result[add]',
        list: 'crm.lead.list?filter[ORIGIN_ID]=o-1&select[]=ID&select[]=TITLE',
        title: 'crm.lead.update?id=$result[add]&fields[COMMENTS]=from $result[get][TITLE]',
        total: 'crm.lead.add?fields[TITLE]=n$result_total[list]',
      },
    },
    access_token,
  )
  const r = reply.body.result
  t.equal(r.result.get.TITLE, 'first')
  t.same(r.result.list, [{ ID: '1', TITLE: 'first' }])
  t.same(r.result_total, { list: 1 })
  t.equal(portal.leads.get(1)?.['COMMENTS'], 'from first')
  t.equal(portal.leads.get(2)?.['TITLE'], 'n1')
})

t.test('a list cmd gives list results; a PHP-array-with-gaps gives an object', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  const ok = await callJson(portal, 'batch', { cmd: ['crm.lead.add?fields[TITLE]=x', 'profile'] }, access_token)
  t.same(ok.body.result.result[0], 1)
  t.ok(Array.isArray(ok.body.result.result))
  t.same(ok.body.result.result_error, [])
  const gap = await callJson(portal, 'batch', { cmd: ['profile', 'nope', 'profile'] }, access_token)
  t.same(Object.keys(gap.body.result.result), ['0', '2'])
  t.notOk(Array.isArray(gap.body.result.result))
  t.same(Object.keys(gap.body.result.result_error), ['1'])
})

t.test('more than 50 commands: the extra ones get ERROR_BATCH_LENGTH_EXCEEDED', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  const cmd: Record<string, string> = {}
  for (let i = 1; i <= 52; i++) cmd[`lead_${i}`] = `crm.lead.add?fields[TITLE]=L${i}`
  const reply = await callJson(portal, 'batch', { halt: 0, cmd }, access_token)
  t.equal(reply.status, 200)
  t.equal(Object.keys(reply.body.result.result).length, 50)
  t.same(reply.body.result.result_error, {
    lead_51: { error: 'ERROR_BATCH_LENGTH_EXCEEDED', error_description: 'Max batch length exceeded' },
    lead_52: { error: 'ERROR_BATCH_LENGTH_EXCEEDED', error_description: 'Max batch length exceeded' },
  })
  t.equal(portal.leads.size, 50)
})

t.test('no batch inside a batch; sub-commands keep the scope check', async (t) => {
  const emu = await startEmulator(t, { scope: 'crm' })
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  const reply = await callJson(
    portal,
    'batch',
    { cmd: { inner: 'batch?cmd[x]=profile', user: 'user.current' } },
    access_token,
  )
  t.match(reply.body.result.result_error, {
    inner: { error: 'ERROR_BATCH_METHOD_NOT_ALLOWED' },
    user: { error: 'insufficient_scope' },
  })
})
