import t from 'tap'
import { mapLead, type MapLeadOptions } from '../../src/mapping/map-lead.js'
import { effectiveNameOrder } from '../../src/mapping/name-order.js'
import { MappingConfig } from '../../src/mapping/schemas.js'
import { normalizeTikTokBody } from '../../src/tiktok/adapters.js'
import type { NormalizedLead } from '../../src/tiktok/schemas.js'

function leadWith(changes: Array<{ field: string; value: unknown }>): NormalizedLead {
  const res = normalizeTikTokBody({ object: 1, entry: [{ id: '7489000000000000042', changes }] })
  if (res.kind !== 'leads' || !res.leads[0]) throw new Error('expected a lead')
  return res.leads[0]
}
const named = (name: string) => leadWith([{ field: 'name', value: name }])
const opts = (over: Partial<MapLeadOptions>): MapLeadOptions => ({
  mapping: MappingConfig.parse({}),
  defaultCountry: null,
  originatorId: 'tiktok_leads',
  ...over,
})
const names = (name: string, over: Partial<MapLeadOptions>) => {
  const f = mapLead(named(name), opts(over)).fields
  return { NAME: f.NAME, LAST_NAME: f.LAST_NAME }
}

t.test('auto: family name first by the portal country', async (t) => {
  const cases: Array<[string, string, { NAME: string; LAST_NAME: string }]> = [
    ['VN', 'Nguyễn Văn An', { NAME: 'Văn An', LAST_NAME: 'Nguyễn' }],
    ['CN', 'Wang Xiao Ming', { NAME: 'Xiao Ming', LAST_NAME: 'Wang' }],
    ['KR', 'Kim Min-jun', { NAME: 'Min-jun', LAST_NAME: 'Kim' }],
    ['JP', 'Yamada Tarō', { NAME: 'Tarō', LAST_NAME: 'Yamada' }],
    ['HU', 'Nagy Gábor', { NAME: 'Gábor', LAST_NAME: 'Nagy' }],
    ['RU', 'Ivan Petrov', { NAME: 'Ivan', LAST_NAME: 'Petrov' }],
    ['US', 'Mary Ann Smith', { NAME: 'Mary Ann', LAST_NAME: 'Smith' }],
  ]
  for (const [country, full, want] of cases)
    t.strictSame(names(full, { defaultCountry: country }), want, `${country}: ${full}`)
})

t.test('auto without a country: by the portal language (Bitrix24 LANG codes and ISO codes)', async (t) => {
  t.strictSame(names('Nguyễn Văn An', { lang: 'vn' }), { NAME: 'Văn An', LAST_NAME: 'Nguyễn' })
  t.strictSame(names('Wang Xiao', { lang: 'sc' }), { NAME: 'Xiao', LAST_NAME: 'Wang' })
  t.strictSame(names('Wang Xiao', { lang: 'zh-CN' }), { NAME: 'Xiao', LAST_NAME: 'Wang' })
  t.strictSame(names('Kim Min-jun', { lang: 'ko' }), { NAME: 'Min-jun', LAST_NAME: 'Kim' })
  t.strictSame(names('Yamada Tarō', { lang: 'ja' }), { NAME: 'Tarō', LAST_NAME: 'Yamada' })
  t.strictSame(names('Nagy Gábor', { lang: 'hu' }), { NAME: 'Gábor', LAST_NAME: 'Nagy' })
  t.strictSame(names('Ivan Petrov', { lang: 'ru' }), { NAME: 'Ivan', LAST_NAME: 'Petrov' })
  t.strictSame(names('John Smith', {}), { NAME: 'John', LAST_NAME: 'Smith' }, 'no country, no language: given first')
  // the country wins over the language: a Vietnamese-speaking admin of a German portal
  t.strictSame(names('Anna Schmidt', { defaultCountry: 'DE', lang: 'vn' }), { NAME: 'Anna', LAST_NAME: 'Schmidt' })
})

t.test('the portal choice overrides the country', async (t) => {
  t.strictSame(names('Nguyễn Văn An', { defaultCountry: 'VN', nameOrder: 'given_first' }), {
    NAME: 'Nguyễn Văn',
    LAST_NAME: 'An',
  })
  t.strictSame(names('Ivan Petrov', { defaultCountry: 'RU', nameOrder: 'family_first' }), {
    NAME: 'Petrov',
    LAST_NAME: 'Ivan',
  })
  t.strictSame(names('Nguyễn Văn An', { defaultCountry: 'VN', nameOrder: 'full_in_name' }), {
    NAME: 'Nguyễn Văn An',
    LAST_NAME: undefined,
  })
  t.strictSame(
    names('  Nguyễn   Văn  An ', { nameOrder: 'full_in_name' }),
    { NAME: 'Nguyễn Văn An', LAST_NAME: undefined },
    'spaces collapsed',
  )
})

t.test('names not split: one word, written without spaces, or separate first/last answers', async (t) => {
  t.strictSame(names('王小明', { defaultCountry: 'CN' }), { NAME: '王小明', LAST_NAME: undefined })
  t.strictSame(names('김민준', { defaultCountry: 'KR' }), { NAME: '김민준', LAST_NAME: undefined })
  t.strictSame(names('山田太郎', { defaultCountry: 'JP' }), { NAME: '山田太郎', LAST_NAME: undefined })
  const separate = leadWith([
    { field: 'first_name', value: 'An' },
    { field: 'last_name', value: 'Nguyễn' },
  ])
  const f = mapLead(separate, opts({ defaultCountry: 'VN', nameOrder: 'family_first' })).fields
  t.strictSame(
    { NAME: f.NAME, LAST_NAME: f.LAST_NAME },
    { NAME: 'An', LAST_NAME: 'Nguyễn' },
    'answers used as they are',
  )
  t.match(
    mapLead(named('Nguyễn Văn An'), opts({ defaultCountry: 'VN' })).fields.COMMENTS,
    /Name: Nguyễn Văn An/,
    'typed name kept in COMMENTS',
  )
})

t.test('effectiveNameOrder', async (t) => {
  t.equal(effectiveNameOrder(undefined, 'vn'), 'family_first', 'country case-insensitive')
  t.equal(effectiveNameOrder('auto', null, null), 'given_first')
  t.equal(effectiveNameOrder('full_in_name', 'VN', 'vn'), 'full_in_name')
})
