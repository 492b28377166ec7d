import t from 'tap'
import { normalizeTikTokBody, TikTokBodyError } from '../../src/tiktok/adapters.js'
import { answerText, answerValue } from '../../src/tiktok/answers.js'
import { toIsoTime } from '../../src/tiktok/create-time.js'
import { parseJsonPreservingBigInts } from '../../src/tiktok/json.js'
import { NormalizedLead } from '../../src/tiktok/schemas.js'
import { RESEARCH_LEAD_ID, RESEARCH_LEAD_META } from '../fixtures.js'

/** The research's assembled sample (tiktok-research.md §2.1). */
const notification = {
  request_id: '2025040312345678901234567890ABCD',
  object: 1,
  time: 1743639760,
  entry: [
    {
      id: RESEARCH_LEAD_ID,
      lead_source: 'INSTANT_FORM',
      ...RESEARCH_LEAD_META,
      changes: [
        { field: 'name', value: 'Ivan Petrov' },
        { field: 'email', value: 'ivan@example.com' },
        { field: 'phone_number', value: '+79161234567' },
        { field: 'city', value: 'Moscow' },
        { field: 'Which service are you interested in?', value: 'Installation' },
      ],
    },
  ],
}

function leadsOf(body: unknown): NormalizedLead[] {
  const res = normalizeTikTokBody(body)
  if (res.kind !== 'leads') throw new Error(`expected leads, got ignored: ${res.reason}`)
  for (const lead of res.leads) NormalizedLead.parse(lead) // every adapter's output fits the schema
  return res.leads
}

function bodyError(body: unknown): string {
  try {
    normalizeTikTokBody(body)
  } catch (err) {
    if (err instanceof TikTokBodyError) return err.message
    throw err
  }
  throw new Error('expected a TikTokBodyError')
}

t.test('notification: the research sample normalises field by field', async (t) => {
  t.same(leadsOf(notification), [
    {
      leadId: '7489000000000000001',
      format: 'notification',
      createdAt: '2025-04-03T00:22:37.000Z',
      formId: '7480000000000000000',
      formName: 'Spring promo form',
      pageId: '7480000000000000000',
      pageName: 'Spring promo form',
      advertiserId: '7000000000000000000',
      advertiserName: 'Acme LLC',
      campaignId: '1820000000000001',
      campaignName: 'Leads RU spring',
      adgroupId: '1820000000000002',
      adgroupName: 'Moscow 25-45',
      adId: '1820000000000003',
      adName: 'Video A',
      answers: [
        { key: 'name', value: 'Ivan Petrov' },
        { key: 'email', value: 'ivan@example.com' },
        { key: 'phone_number', value: '+79161234567' },
        { key: 'city', value: 'Moscow' },
        { key: 'Which service are you interested in?', value: 'Installation' },
      ],
    },
  ])
})

t.test('notification: 19-digit numeric ids keep their digits through parse + normalise', async (t) => {
  // The Go adapter's test body (research §2.1): ids as JSON numbers.
  const raw =
    '{"object":1,"time":1614334356,"entry":[{"id":7012345678901234567,"page_id":1700000000000001,"advertiser_id":6900000000000001,"campaign_id":1234,"adgroup_id":5678,"ad_id":9012,"create_time":1614239152,"lead_source":"INSTANT_FORM","changes":[{"field":"email","value":"lead@example.com"},{"field":"phone_number","value":"15088888888"},{"field":"name","value":"Jane Doe"}]}]}'
  const [lead] = leadsOf(parseJsonPreservingBigInts(raw))
  t.equal(lead?.leadId, '7012345678901234567')
  t.equal(lead?.pageId, '1700000000000001')
  t.equal(lead?.formId, '1700000000000001', 'page_id is the instant form id')
  t.equal(lead?.advertiserId, '6900000000000001')
  t.equal(lead?.campaignId, '1234')
  t.equal(lead?.adgroupId, '5678')
  t.equal(lead?.adId, '9012')
  t.equal(lead?.createdAt, '2021-02-25T07:45:52.000Z')
  t.equal(lead?.formName, null)
  t.same(
    lead?.answers.map((a) => a.key),
    ['email', 'phone_number', 'name'],
  )
})

t.test('notification: an id that already lost precision is refused, not stored under a wrong value', async (t) => {
  const body = JSON.parse('{"object":1,"entry":[{"id":7012345678901234567,"changes":[]}]}') as unknown
  t.match(bodyError(body), /^entry\[0\]\.id must be a string or a whole number within 2\^53/)
})

t.test('notification: several entries give several leads, in order', async (t) => {
  const body = {
    object: 1,
    entry: [
      { id: '1001', changes: [{ field: 'name', value: 'A' }] },
      { id: 1002, changes: [{ field: 'name', value: 'B' }] },
      { id: '1003', page_name: 'Form C', changes: [] },
    ],
  }
  const leads = leadsOf(body)
  t.same(
    leads.map((l) => l.leadId),
    ['1001', '1002', '1003'],
  )
  t.same(
    leads.map((l) => l.formName),
    [null, null, 'Form C'],
  )
  t.same(leads[2]?.answers, [])
})

t.test('notification: object as a numeric string is accepted', async (t) => {
  t.equal(leadsOf({ ...notification, object: '1' }).length, 1)
})

t.test('notification: object != 1 is ignored without checking its entries', async (t) => {
  t.same(normalizeTikTokBody({ object: 3, entry: [{ log_id: 1, adv_id: 2, reject_reason: 'x' }] }), {
    kind: 'ignored',
    reason: 'notification object 3 (ad review status) is not a lead',
  })
  t.same(normalizeTikTokBody({ object: '14', time: 1 }), {
    kind: 'ignored',
    reason: 'notification object 14 (API service status) is not a lead',
  })
  t.same(normalizeTikTokBody({ object: 99, entry: 'whatever' }), {
    kind: 'ignored',
    reason: 'notification object 99 (unknown type) is not a lead',
  })
  t.same(normalizeTikTokBody({ object: 1, entry: [] }), {
    kind: 'ignored',
    reason: 'lead notification with no entries',
  })
})

t.test('notification: answers keep arrival order; lists, numbers and odd values become text', async (t) => {
  const [lead] = leadsOf({
    object: 1,
    entry: [
      {
        id: 'tt-lead-1',
        changes: [
          { field: 'Which colours?', value: ['Red', 'Blue', ''] },
          { field: 'Age', value: 42 },
          { field: 'Consent', value: true },
          { field: 'Blank', value: null },
          { field: '  padded key ', value: '  padded value  ' },
          { field: 'Nested', value: { a: 1 } },
          { field: 'name', value: 'Z' },
        ],
      },
    ],
  })
  t.same(lead?.answers, [
    { key: 'Which colours?', value: 'Red, Blue' },
    { key: 'Age', value: '42' },
    { key: 'Consent', value: 'true' },
    { key: 'Blank', value: '' },
    { key: 'padded key', value: 'padded value' },
    { key: 'Nested', value: '{"a":1}' },
    { key: 'name', value: 'Z' },
  ])
})

t.test('notification: form_id / form_name win over page_id / page_name when both are sent', async (t) => {
  const [lead] = leadsOf({
    object: 1,
    entry: [{ id: '5', page_id: 'p1', page_name: 'Page', form_id: 'f1', form_name: 'Form', changes: [] }],
  })
  t.same([lead?.formId, lead?.formName, lead?.pageId, lead?.pageName], ['f1', 'Form', 'p1', 'Page'])
})

t.test('notification: malformed bodies name the exact field', async (t) => {
  t.equal(bodyError({ object: 1, entry: [{ changes: [] }] }), 'entry[0].id is missing')
  t.equal(bodyError({ object: 1 }), 'entry is missing')
  t.equal(bodyError({ object: 1, entry: {} }), 'entry must be an array')
  t.equal(bodyError({ entry: [] }), 'object is missing')
  t.equal(bodyError({ object: 'lead', entry: [] }), 'object must be a number')
  t.equal(bodyError({ object: 1, entry: [{ id: '1' }] }), 'entry[0].changes is missing')
  t.equal(
    bodyError({
      object: 1,
      entry: [
        { id: '1', changes: [] },
        { id: '2', changes: [{ value: 'x' }, { field: '', value: 'y' }] },
      ],
    }),
    'entry[1].changes[0].field is missing; entry[1].changes[1].field is empty',
  )
  t.equal(bodyError({ object: 1, entry: [{ id: '', changes: [] }] }), 'entry[0].id is empty')
  t.equal(bodyError({ object: 1, entry: [{ id: true, changes: [] }] }), 'entry[0].id must be a string or number')
  t.equal(bodyError({ object: 1, entry: ['x'] }), 'entry[0] must be an object')
  t.equal(
    bodyError({ object: 1, entry: [{ id: 'a b', changes: [] }] }),
    'entry[0].id must contain only letters, digits and _ . : @ -',
  )
  t.equal(
    bodyError({ object: 1, entry: [{ id: '1', campaign_id: {}, changes: [] }] }),
    'entry[0].campaign_id must be a string or number',
  )
})

t.test('TikTokBodyError is a 400 app error carrying every issue', async (t) => {
  try {
    normalizeTikTokBody({ object: 1, entry: [{}, {}] })
    t.fail('should throw')
  } catch (err) {
    t.ok(err instanceof TikTokBodyError)
    const e = err as TikTokBodyError
    t.equal(e.code, 'APP_ERR_TIKTOK_BODY')
    t.equal(e.statusCode, 400)
    t.same(e.issues, [
      'entry[0].id is missing',
      'entry[0].changes is missing',
      'entry[1].id is missing',
      'entry[1].changes is missing',
    ])
  }
})

t.test('pull / test lead: flat lead_data plus meta_data', async (t) => {
  const [lead] = leadsOf({
    lead_data: {
      name: 'Test User',
      email: 'test@example.com',
      phone_number: '0912345678',
      'Best time to call?': 'Morning',
    },
    meta_data: {
      lead_source: 'INSTANT_FORM',
      lead_id: '7300000000000000009',
      page_id: '7480000000000000000',
      page_name: 'Test form',
      campaign_id: '11',
      campaign_name: 'C',
      adgroup_id: '12',
      adgroup_name: 'G',
      ad_id: '13',
      ad_name: 'A',
      create_time: '2025-04-03 10:15:00',
    },
  })
  t.same(lead, {
    leadId: '7300000000000000009',
    format: 'pull',
    createdAt: '2025-04-03T10:15:00.000Z',
    formId: '7480000000000000000',
    formName: 'Test form',
    pageId: '7480000000000000000',
    pageName: 'Test form',
    advertiserId: null,
    advertiserName: null,
    campaignId: '11',
    campaignName: 'C',
    adgroupId: '12',
    adgroupName: 'G',
    adId: '13',
    adName: 'A',
    answers: [
      { key: 'name', value: 'Test User' },
      { key: 'email', value: 'test@example.com' },
      { key: 'phone_number', value: '0912345678' },
      { key: 'Best time to call?', value: 'Morning' },
    ],
  })
})

t.test('pull / test lead: the API envelope {code: 0, data} is unwrapped; errors are named', async (t) => {
  const raw =
    '{"code":0,"message":"OK","request_id":"r","data":{"lead_data":{"name":"T"},"meta_data":{"lead_id":7300000000000000009,"create_time":1743639757}}}'
  const [lead] = leadsOf(parseJsonPreservingBigInts(raw))
  t.equal(lead?.leadId, '7300000000000000009')
  t.equal(lead?.createdAt, '2025-04-03T00:22:37.000Z')
  t.equal(bodyError({ code: 0, data: { lead_data: {}, meta_data: {} } }), 'data.meta_data.lead_id is missing')
  t.equal(bodyError({ code: 0, data: { meta_data: {} } }), 'data.lead_data is missing')
  t.equal(bodyError({ code: 0, data: null }), 'data must be an object with lead_data and meta_data')
  t.equal(
    bodyError({ code: 40105, message: 'Access token is invalid', data: {} }),
    'the body is a TikTok API error reply (code 40105: Access token is invalid), not a lead',
  )
})

t.test('pull: malformed lead_data and meta_data', async (t) => {
  t.equal(
    bodyError({ lead_data: [], meta_data: { lead_id: '1' } }),
    'lead_data must be an object of field: value pairs',
  )
  t.equal(bodyError({ lead_data: {}, meta_data: 'x' }), 'meta_data must be an object')
  t.equal(bodyError({ meta_data: { lead_id: '1' } }), 'lead_data is missing')
})

t.test('forwarder: the seed-000 shape', async (t) => {
  const [lead] = leadsOf({
    event_id: 'evt_42',
    lead_data: { full_name: 'Nguyen Van An', email: 'an@example.vn', phone: '0912345678', Budget: 1000 },
    campaign: {
      campaign_id: 7,
      campaign_name: 'Tet',
      ad_id: '9',
      ad_name: 'Clip',
      form_id: 'f',
      form_name: 'Tet form',
    },
  })
  t.same(lead, {
    leadId: 'evt_42',
    format: 'forwarder',
    createdAt: null,
    formId: 'f',
    formName: 'Tet form',
    pageId: null,
    pageName: null,
    advertiserId: null,
    advertiserName: null,
    campaignId: '7',
    campaignName: 'Tet',
    adgroupId: null,
    adgroupName: null,
    adId: '9',
    adName: 'Clip',
    answers: [
      { key: 'full_name', value: 'Nguyen Van An' },
      { key: 'email', value: 'an@example.vn' },
      { key: 'phone', value: '0912345678' },
      { key: 'Budget', value: '1000' },
    ],
  })
  const [bare] = leadsOf({ event_id: 5, lead_data: { name: 'x' } })
  t.equal(bare?.leadId, '5')
  t.equal(bare?.campaignId, null)
  t.equal(bodyError({ event_id: 'e', lead_data: {}, campaign: 'x' }), 'campaign must be an object')
})

t.test('non-lead TikTok traffic is ignored; unknown bodies are errors', async (t) => {
  t.same(normalizeTikTokBody({ client_key: 'k', event: 'tiktok.ping', create_time: 1, content: '{}' }), {
    kind: 'ignored',
    reason: 'TikTok for Developers event "tiktok.ping" (not a lead)',
  })
  t.same(normalizeTikTokBody({ subscription_id: 's', advertiser_id: 'a', status: 'STATUS_LIMIT' }), {
    kind: 'ignored',
    reason: 'ad account status notification (not a lead)',
  })
  t.equal(
    bodyError({ lead_data: { name: 'x' } }),
    'lead_data needs either meta_data with lead_id (TikTok pull / test lead) or event_id (forwarder)',
  )
  t.match(bodyError({ field_data: [] }), /^unrecognised body: .*top-level keys: field_data$/)
  t.equal(bodyError([notification]), 'the body must be a JSON object (got an array)')
  t.equal(bodyError(null), 'the body must be a JSON object (got null)')
  t.equal(bodyError('x'), 'the body must be a JSON object (got a string)')
})

t.test('answerValue: first non-empty key in the order asked, exact then loose', async (t) => {
  const lead = {
    answers: [
      { key: 'phone', value: '  ' },
      { key: 'Phone Number', value: '0912345678' },
      { key: 'email', value: 'a@b.c' },
    ],
  }
  t.equal(
    answerValue(lead, 'phone', 'phone_number'),
    '0912345678',
    'blank answers are skipped; "Phone Number" is phone_number',
  )
  t.equal(answerValue(lead, 'email', 'phone_number'), 'a@b.c')
  t.equal(answerValue(lead, 'city'), null)
  t.equal(answerValue(lead), null)
})

t.test('toIsoTime: seconds, milliseconds, datetime strings; junk is null', async (t) => {
  t.equal(toIsoTime(1743639757), '2025-04-03T00:22:37.000Z')
  t.equal(toIsoTime('1743639757'), '2025-04-03T00:22:37.000Z')
  t.equal(toIsoTime(1743639757123), '2025-04-03T00:22:37.123Z')
  t.equal(toIsoTime('2025-04-03 10:15:00'), '2025-04-03T10:15:00.000Z', 'a datetime without zone is UTC')
  t.equal(toIsoTime('2025-04-03T10:15'), '2025-04-03T10:15:00.000Z')
  t.equal(toIsoTime('2025-04-03T17:15:00+07:00'), '2025-04-03T10:15:00.000Z')
  t.equal(toIsoTime('2025-04-03 17:15:00+0700'), '2025-04-03T10:15:00.000Z')
  t.equal(toIsoTime('yesterday'), null)
  t.equal(toIsoTime('2025-13-45 99:00:00'), null)
  t.equal(toIsoTime(0), null)
  t.equal(toIsoTime(-5), null)
  t.equal(toIsoTime(null), null)
  t.equal(toIsoTime(undefined), null)
})

t.test('answerText', async (t) => {
  t.equal(answerText([1, 'b', null, ['c']]), '1, b, c')
  t.equal(answerText(undefined), '')
  t.equal(answerText(false), 'false')
})
