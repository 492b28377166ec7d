import t from 'tap'
import { mapLead, type MapLeadOptions } from '../../src/mapping/map-lead.js'
import { MappingConfig, type PortalFields } from '../../src/mapping/schemas.js'
import { normalizeTikTokBody } from '../../src/tiktok/adapters.js'
import type { NormalizedLead } from '../../src/tiktok/schemas.js'
import { RESEARCH_LEAD_ID, RESEARCH_LEAD_META } from '../fixtures.js'

function notificationLead(
  changes: Array<{ field: string; value: unknown }>,
  extra: Record<string, unknown> = {},
): NormalizedLead {
  const res = normalizeTikTokBody({ object: 1, entry: [{ id: RESEARCH_LEAD_ID, changes, ...extra }] })
  if (res.kind !== 'leads' || !res.leads[0]) throw new Error('expected a lead')
  return res.leads[0]
}

const sample = notificationLead(
  [
    { field: 'name', value: 'Ivan Petrov' },
    { field: 'email', value: 'ivan@example.com' },
    { field: 'phone_number', value: '89161234567' },
    { field: 'city', value: 'Moscow' },
    { field: 'Which service are you interested in?', value: 'Installation' },
    { field: 'Anything else?', value: 'Fast <please> & cheap' },
  ],
  RESEARCH_LEAD_META,
)

const noMapping = MappingConfig.parse({})
function opts(over: Partial<MapLeadOptions> = {}): MapLeadOptions {
  return { mapping: noMapping, defaultCountry: 'RU', originatorId: 'tiktok_leads', ...over }
}

t.test('default output for a full lead, exactly', async (t) => {
  t.strictSame(mapLead(sample, opts()), {
    fields: {
      TITLE: 'TikTok lead: Spring promo form',
      NAME: 'Ivan',
      LAST_NAME: 'Petrov',
      PHONE: [{ VALUE: '+79161234567', VALUE_TYPE: 'WORK' }],
      EMAIL: [{ VALUE: 'ivan@example.com', VALUE_TYPE: 'WORK' }],
      ADDRESS_CITY: 'Moscow',
      SOURCE_ID: 'ADVERTISING',
      SOURCE_DESCRIPTION: 'TikTok Lead Generation · form Spring promo form · ad Video A',
      UTM_SOURCE: 'tiktok',
      UTM_MEDIUM: 'paid_social',
      UTM_CAMPAIGN: 'Leads RU spring',
      UTM_CONTENT: 'Video A',
      UTM_TERM: 'Moscow 25-45',
      COMMENTS: [
        'Name: Ivan Petrov',
        'Email: ivan@example.com',
        'Phone number: 89161234567',
        'City: Moscow',
        'Which service are you interested in?: Installation',
        'Anything else?: Fast &lt;please&gt; &amp; cheap',
        '',
        'TikTok lead ID: 7489000000000000001',
        'Created: 2025-04-03T00:22:37.000Z',
        'Form: Spring promo form (ID 7480000000000000000)',
        'Advertiser: Acme LLC (ID 7000000000000000000)',
        'Campaign: Leads RU spring (ID 1820000000000001)',
        'Ad group: Moscow 25-45 (ID 1820000000000002)',
        'Ad: Video A (ID 1820000000000003)',
      ].join('\n'),
      ORIGINATOR_ID: 'tiktok_leads',
      ORIGIN_ID: '7489000000000000001',
    },
    warnings: [],
  })
})

t.test('a bare lead: id in the title, no UTM campaign fields, ids-only comments', async (t) => {
  const lead = notificationLead([], { campaign_id: 99 })
  t.strictSame(mapLead(lead, opts({ originatorId: 'x' })).fields, {
    TITLE: 'TikTok lead 7489000000000000001',
    SOURCE_ID: 'ADVERTISING',
    SOURCE_DESCRIPTION: 'TikTok Lead Generation',
    UTM_SOURCE: 'tiktok',
    UTM_MEDIUM: 'paid_social',
    UTM_CAMPAIGN: '99',
    COMMENTS: 'TikTok lead ID: 7489000000000000001\nCampaign: 99',
    ORIGINATOR_ID: 'x',
    ORIGIN_ID: '7489000000000000001',
  })
})

t.test('names: separate first/last kept; full names split on the last word', async (t) => {
  const f = (changes: Array<{ field: string; value: unknown }>) => {
    const { NAME, LAST_NAME } = mapLead(notificationLead(changes), opts()).fields
    return { NAME, LAST_NAME }
  }
  t.same(
    f([
      { field: 'first_name', value: 'Anna Maria' },
      { field: 'last_name', value: 'de la Cruz' },
      { field: 'name', value: 'x y' },
    ]),
    {
      NAME: 'Anna Maria',
      LAST_NAME: 'de la Cruz',
    },
  )
  t.same(f([{ field: 'last_name', value: 'Solo' }]), { NAME: undefined, LAST_NAME: 'Solo' })
  t.same(f([{ field: 'full_name', value: '  Jean  Claude   Van Damme ' }]), {
    NAME: 'Jean Claude Van',
    LAST_NAME: 'Damme',
  })
  t.same(f([{ field: 'name', value: 'Cher' }]), { NAME: 'Cher', LAST_NAME: undefined })
  t.same(f([{ field: 'name', value: '' }]), { NAME: undefined, LAST_NAME: undefined })
})

t.test('phones and e-mails: every standard key, lists of {VALUE, VALUE_TYPE}, duplicates merged', async (t) => {
  const lead = notificationLead([
    { field: 'phone_number', value: '0912345678' },
    { field: 'phone', value: '+84 912 345 678' },
    { field: 'work_phone_number', value: '02838221234' },
    { field: 'email', value: 'A@x.vn' },
    { field: 'work_email', value: 'a@x.vn' },
  ])
  const { fields, warnings } = mapLead(lead, opts({ defaultCountry: 'VN' }))
  t.strictSame(fields.PHONE, [
    { VALUE: '+84912345678', VALUE_TYPE: 'WORK' },
    { VALUE: '+842838221234', VALUE_TYPE: 'WORK' },
  ])
  t.strictSame(fields.EMAIL, [{ VALUE: 'A@x.vn', VALUE_TYPE: 'WORK' }])
  t.same(warnings, [])
})

t.test('an unreadable phone is kept as given, with a warning', async (t) => {
  const bad = mapLead(
    notificationLead([{ field: 'phone_number', value: 'call after 6' }]),
    opts({ defaultCountry: 'VN' }),
  )
  t.strictSame(bad.fields.PHONE, [{ VALUE: 'call after 6', VALUE_TYPE: 'WORK' }])
  t.same(bad.warnings, ['Phone "call after 6" is not a recognisable number; kept as given'])
  const noCountry = mapLead(
    notificationLead([{ field: 'phone_number', value: '0912345678' }]),
    opts({ defaultCountry: null }),
  )
  t.strictSame(noCountry.fields.PHONE, [{ VALUE: '0912345678', VALUE_TYPE: 'WORK' }])
  t.same(noCountry.warnings, ['Phone "0912345678" kept as given: no default country is set to read it by'])
})

t.test('address, company and job title defaults', async (t) => {
  const { fields } = mapLead(
    notificationLead([
      { field: 'street_address', value: '1 Main St' },
      { field: 'state', value: 'CA' },
      { field: 'zip_code', value: '94016' },
      { field: 'country', value: 'US' },
      { field: 'company_name', value: 'Acme' },
      { field: 'job_title', value: 'CTO' },
    ]),
    opts(),
  )
  t.same(
    [
      fields.ADDRESS,
      fields.ADDRESS_PROVINCE,
      fields.ADDRESS_POSTAL_CODE,
      fields.ADDRESS_COUNTRY,
      fields.COMPANY_TITLE,
      fields.POST,
    ],
    ['1 Main St', 'CA', '94016', 'US', 'Acme', 'CTO'],
  )
})

const portalFields: PortalFields = {
  TITLE: { type: 'string' },
  PHONE: { type: 'crm_multifield', isMultiple: true },
  EMAIL: { type: 'crm_multifield', isMultiple: true },
  DATE_CREATE: { type: 'datetime', isReadOnly: true },
  STATUS_ID: { type: 'crm_status' },
  SOURCE_ID: { type: 'crm_status' },
  ASSIGNED_BY_ID: { type: 'user' },
  OPENED: { type: 'char' },
  UF_CRM_SERVICE: {
    type: 'enumeration',
    listLabel: 'Service',
    items: [
      { ID: '45', VALUE: 'Installation' },
      { ID: 46, VALUE: 'Repair' },
    ],
  },
  UF_CRM_COLOURS: {
    type: 'enumeration',
    isMultiple: true,
    listLabel: 'Colours',
    items: [
      { ID: '1', VALUE: 'Red' },
      { ID: '2', VALUE: 'Blue' },
      { ID: '3', VALUE: 'Green' },
    ],
  },
  UF_CRM_TAGS: { type: 'string', isMultiple: true },
  UF_CRM_NOTE: { type: 'string' },
  UF_CRM_CREATED: { type: 'datetime' },
}

t.test('rules: an answer goes to its target; meta sources too', async (t) => {
  const mapping = MappingConfig.parse({
    rules: [
      { source: 'Anything else?', target: 'UF_CRM_NOTE' },
      { source: 'meta.created_at', target: 'UF_CRM_CREATED' },
      { source: 'meta.campaign_name', target: 'TITLE' },
      { source: 'Not in this form', target: 'UF_CRM_TAGS' },
    ],
  })
  const { fields, warnings } = mapLead(sample, opts({ mapping, portalFields }))
  t.equal(fields.UF_CRM_NOTE, 'Fast <please> & cheap', 'field values are not HTML-escaped, only COMMENTS is')
  t.equal(fields.UF_CRM_CREATED, '2025-04-03T00:22:37.000Z')
  t.equal(fields.TITLE, 'Leads RU spring', 'a rule overrides a default')
  t.notOk('UF_CRM_TAGS' in fields, 'an unanswered source maps nothing')
  t.same(warnings, [])
})

t.test(
  'enumerations: through enumMap, else by item VALUE ignoring case; misses are left out with a warning',
  async (t) => {
    const lead = notificationLead([
      { field: 'Service?', value: 'installation' },
      { field: 'Service 2', value: 'Fix it' },
      { field: 'Service 3', value: 'Painting' },
    ])
    const mapping = MappingConfig.parse({
      rules: [
        { source: 'Service?', target: 'UF_CRM_SERVICE' },
        { source: 'Service 2', target: 'UF_CRM_SERVICE', enumMap: { 'fix IT': '46' } },
        { source: 'Service 3', target: 'UF_CRM_SERVICE' },
      ],
    })
    const { fields, warnings } = mapLead(lead, opts({ mapping, portalFields }))
    t.equal(fields.UF_CRM_SERVICE, '45', 'item VALUE matched case-insensitively')
    t.same(warnings, [
      'Rule 2 ("Service 2" → UF_CRM_SERVICE): UF_CRM_SERVICE already set by an earlier rule; "46" not used',
      'Rule 3 ("Service 3" → UF_CRM_SERVICE): answer "Painting" matches no item of UF_CRM_SERVICE "Service"; left out',
    ])

    const onlyMap = mapLead(
      lead,
      opts({
        mapping: MappingConfig.parse({
          rules: [{ source: 'Service 2', target: 'UF_CRM_SERVICE', enumMap: { 'Fix it': '46' } }],
        }),
        portalFields,
      }),
    )
    t.equal(onlyMap.fields.UF_CRM_SERVICE, '46')

    const miss = mapLead(
      lead,
      opts({
        mapping: MappingConfig.parse({ rules: [{ source: 'Service 3', target: 'UF_CRM_SERVICE' }] }),
        portalFields,
      }),
    )
    t.notOk('UF_CRM_SERVICE' in miss.fields, 'never invented')
    t.equal(miss.warnings.length, 1)
  },
)

t.test('enumMap without portal fields still maps, and still never invents', async (t) => {
  const lead = notificationLead([
    { field: 'Hot?', value: 'Yes' },
    { field: 'Cold?', value: 'Maybe' },
  ])
  const mapping = MappingConfig.parse({
    rules: [
      { source: 'Hot?', target: 'STATUS_ID', enumMap: { Yes: 'IN_PROCESS' } },
      { source: 'Cold?', target: 'UF_CRM_X', enumMap: { Yes: '1' } },
    ],
  })
  const { fields, warnings } = mapLead(lead, opts({ mapping }))
  t.equal(fields.STATUS_ID, 'IN_PROCESS')
  t.notOk('UF_CRM_X' in fields)
  t.same(warnings, ['Rule 2 ("Cold?" → UF_CRM_X): answer "Maybe" matches no item of UF_CRM_X; left out'])
})

t.test('multiple targets get arrays; multi-select answers map item by item', async (t) => {
  const lead = notificationLead([
    { field: 'Colours', value: ['Red', 'blue', 'Purple'] },
    { field: 'Tag 1', value: 'vip' },
    { field: 'Tag 2', value: 'spring' },
  ])
  const mapping = MappingConfig.parse({
    rules: [
      { source: 'Colours', target: 'UF_CRM_COLOURS' },
      { source: 'Tag 1', target: 'UF_CRM_TAGS' },
      { source: 'Tag 2', target: 'UF_CRM_TAGS' },
    ],
  })
  const { fields, warnings } = mapLead(lead, opts({ mapping, portalFields }))
  t.strictSame(fields.UF_CRM_COLOURS, ['1', '2'])
  t.strictSame(fields.UF_CRM_TAGS, ['vip', 'spring'])
  t.same(warnings, [
    'Rule 1 ("Colours" → UF_CRM_COLOURS): answer "Purple" matches no item of UF_CRM_COLOURS "Colours"; left out',
  ])
})

t.test('PHONE / EMAIL rules add to the multifield lists', async (t) => {
  const lead = notificationLead([
    { field: 'phone_number', value: '0912345678' },
    { field: 'Second phone', value: '0987654321' },
    { field: 'Same phone again', value: '+84912345678' },
    { field: 'Your e-mail', value: 'b@x.vn' },
  ])
  const mapping = MappingConfig.parse({
    rules: [
      { source: 'Second phone', target: 'PHONE' },
      { source: 'Same phone again', target: 'PHONE' },
      { source: 'Your e-mail', target: 'EMAIL' },
    ],
  })
  const { fields } = mapLead(lead, opts({ mapping, defaultCountry: 'VN', portalFields }))
  t.strictSame(fields.PHONE, [
    { VALUE: '+84912345678', VALUE_TYPE: 'WORK' },
    { VALUE: '+84987654321', VALUE_TYPE: 'WORK' },
  ])
  t.strictSame(fields.EMAIL, [{ VALUE: 'b@x.vn', VALUE_TYPE: 'WORK' }])
})

t.test('rules to missing or read-only fields are left out with a warning', async (t) => {
  const lead = notificationLead([{ field: 'a', value: '1' }])
  const mapping = MappingConfig.parse({
    rules: [
      { source: 'a', target: 'UF_CRM_DELETED' },
      { source: 'a', target: 'DATE_CREATE' },
    ],
  })
  const { fields, warnings } = mapLead(lead, opts({ mapping, portalFields }))
  t.notOk('UF_CRM_DELETED' in fields)
  t.notOk('DATE_CREATE' in fields)
  t.same(warnings, [
    'Rule 1 ("a" → UF_CRM_DELETED): left out, the field does not exist on this portal',
    'Rule 2 ("a" → DATE_CREATE): left out, DATE_CREATE is read-only',
  ])
})

t.test('constants apply last, over defaults and rules; ORIGIN fields cannot be overwritten', async (t) => {
  const mapping = {
    rules: [{ source: 'city', target: 'SOURCE_ID' }],
    constants: {
      SOURCE_ID: 'WEB',
      ASSIGNED_BY_ID: 7,
      OPENED: 'Y',
      UF_CRM_TAGS: 'tiktok',
      ORIGIN_ID: 'hijack',
      UF_CRM_GONE: 'x',
    },
  } satisfies MappingConfig
  const { fields, warnings } = mapLead(sample, opts({ mapping, portalFields }))
  t.equal(fields.SOURCE_ID, 'WEB')
  t.equal(fields.ASSIGNED_BY_ID, 7)
  t.equal(fields.OPENED, 'Y')
  t.strictSame(fields.UF_CRM_TAGS, ['tiktok'], 'a multiple field gets a list')
  t.equal(fields.ORIGIN_ID, '7489000000000000001')
  t.notOk('UF_CRM_GONE' in fields)
  t.same(warnings, [
    'Constant ORIGIN_ID left out: the field does not exist on this portal',
    'Constant UF_CRM_GONE left out: the field does not exist on this portal',
  ])
  const without = mapLead(sample, opts({ mapping }))
  t.equal(without.fields.UF_CRM_GONE, 'x', 'without portal fields constants pass through')
  t.equal(without.fields.ORIGIN_ID, '7489000000000000001')
})

t.test('long form names are cut to fit TITLE', async (t) => {
  const lead = notificationLead([], { page_name: 'x'.repeat(400) })
  const title = mapLead(lead, opts()).fields.TITLE as string
  t.equal(title.length, 255)
  t.ok(title.endsWith('…'))
})
