import t from 'tap'
import {
  DeliverySettings,
  MappingConfig,
  validateMappingAgainstFields,
  type PortalFields,
} from '../../src/mapping/schemas.js'

function issues(value: unknown): string[] {
  const res = MappingConfig.safeParse(value)
  return res.success ? [] : res.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
}

t.test('MappingConfig: defaults and a valid config', async (t) => {
  t.same(MappingConfig.parse({}), { rules: [], constants: {} })
  const cfg = MappingConfig.parse({
    rules: [
      { source: 'Which service are you interested in?', target: 'UF_CRM_1712345678', enumMap: { Installation: '45' } },
      { source: 'meta.campaign_name', target: 'UF_CRM_CAMPAIGN' },
      { source: '  phone_number ', target: 'PHONE' },
    ],
    constants: { ASSIGNED_BY_ID: 7, STATUS_ID: 'NEW', OPENED: 'Y' },
  })
  t.equal(cfg.rules[2]?.source, 'phone_number', 'sources are trimmed')
  t.equal(cfg.constants.ASSIGNED_BY_ID, 7)
})

t.test('MappingConfig: targets must look like lead field names', async (t) => {
  t.same(issues({ rules: [{ source: 'a', target: 'name' }] }), [
    'rules.0.target: must be a Bitrix24 lead field name such as NAME or UF_CRM_1712345678',
  ])
  t.equal(issues({ rules: [{ source: 'a', target: 'UF-CRM' }] }).length, 1)
  t.equal(issues({ rules: [{ source: 'a', target: '1NAME' }] }).length, 1)
  t.same(issues({ rules: [{ source: 'a', target: 'ORIGIN_ID' }] }), [
    'rules.0.target: is reserved: the app sets ORIGINATOR_ID/ORIGIN_ID to find leads it already created',
  ])
})

t.test('MappingConfig: sources are answer keys or known meta.* sources', async (t) => {
  t.same(issues({ rules: [{ source: 'meta.form_name', target: 'TITLE' }] }), [])
  t.same(issues({ rules: [{ source: 'meta.created_at', target: 'UF_CRM_AT' }] }), [])
  t.match(issues({ rules: [{ source: 'meta.colour', target: 'TITLE' }] }), [
    /^rules\.0\.source: must be an answer key or one of meta\.form_name/,
  ])
  t.same(issues({ rules: [{ source: '   ', target: 'TITLE' }] }), ['rules.0.source: must not be empty'])
})

t.test('MappingConfig: constants', async (t) => {
  t.same(issues({ constants: { assigned: 1 } }), [
    'constants.assigned: must be a Bitrix24 lead field name such as NAME or UF_CRM_1712345678',
  ])
  t.same(issues({ constants: { PHONE: '+84912345678' } }), [
    'constants: PHONE, EMAIL, WEB and IM cannot be constants: they come from the answers',
  ])
  t.equal(issues({ constants: { OPENED: true } }).length, 1, 'only strings and numbers')
})

t.test('DeliverySettings: default country is optional, upper-cased and checked', async (t) => {
  t.same(DeliverySettings.parse({}), { defaultCountry: null, mapping: { rules: [], constants: {} } })
  t.equal(DeliverySettings.parse({ defaultCountry: 'vn' }).defaultCountry, 'VN')
  t.equal(DeliverySettings.safeParse({ defaultCountry: 'Vietnam' }).success, false)
  t.equal(DeliverySettings.safeParse({ defaultCountry: 'XX' }).success, false)
})

const fields: PortalFields = {
  TITLE: { type: 'string', title: 'Lead name' },
  NAME: { type: 'string' },
  ID: { type: 'integer', isReadOnly: true },
  DATE_CREATE: { type: 'datetime', isReadOnly: true },
  STATUS_ID: { type: 'crm_status' },
  ASSIGNED_BY_ID: { type: 'user' },
  UF_CRM_SERVICE: {
    type: 'enumeration',
    title: 'UF_CRM_SERVICE',
    listLabel: 'Service',
    items: [
      { ID: '45', VALUE: 'Installation' },
      { ID: 46, VALUE: 'Repair' },
    ],
  },
  UF_CRM_NOTE: { type: 'string', listLabel: 'Note' },
}

t.test('validateMappingAgainstFields: a fitting mapping has no errors', async (t) => {
  const cfg = MappingConfig.parse({
    rules: [
      { source: 'Service?', target: 'UF_CRM_SERVICE', enumMap: { Install: '45', Fix: '46' } },
      { source: 'Note', target: 'UF_CRM_NOTE' },
      { source: 'Status', target: 'STATUS_ID', enumMap: { Hot: 'IN_PROCESS' } },
    ],
    constants: { ASSIGNED_BY_ID: 1, UF_CRM_SERVICE: 46 },
  })
  t.same(validateMappingAgainstFields(cfg, fields), [])
})

t.test('validateMappingAgainstFields: every problem, readably', async (t) => {
  const cfg = MappingConfig.parse({
    rules: [
      { source: 'x', target: 'UF_CRM_GONE' },
      { source: 'y', target: 'DATE_CREATE' },
      { source: 'Service?', target: 'UF_CRM_SERVICE', enumMap: { Install: '45', Fix: 'Repair' } },
    ],
    constants: { UF_CRM_OLD: 'a', UF_CRM_SERVICE: '99', DATE_CREATE: '2025-01-01' },
  })
  t.same(validateMappingAgainstFields(cfg, fields), [
    'Rule 1 ("x" → UF_CRM_GONE): the field UF_CRM_GONE does not exist on this portal',
    'Rule 2 ("y" → DATE_CREATE): DATE_CREATE is read-only',
    'Rule 3 ("Service?" → UF_CRM_SERVICE): answer "Fix" is mapped to "Repair", which is not an item of UF_CRM_SERVICE "Service" (items: 45 "Installation", 46 "Repair")',
    'Constant UF_CRM_OLD: the field does not exist on this portal',
    'Constant UF_CRM_SERVICE: "99" is not an item of UF_CRM_SERVICE "Service" (items: 45 "Installation", 46 "Repair")',
    'Constant DATE_CREATE: DATE_CREATE is read-only',
  ])
})
