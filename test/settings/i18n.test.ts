import t from 'tap'
import { fmt, type Lang, LANGS, pickLang, STRINGS, type StringKey, strings } from '../../src/settings/i18n.js'
import { en } from '../../src/settings/i18n/en.js'
import { ru } from '../../src/settings/i18n/ru.js'
import { vn } from '../../src/settings/i18n/vn.js'

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

/**
 * The only values a translation may keep exactly as in English: a product name and a unit symbol
 * that Russian or Vietnamese write the same way. Anything else equal to English is a missed
 * translation (no language falls back to English).
 */
const SAME_AS_ENGLISH: Record<Exclude<Lang, 'en'>, readonly StringKey[]> = {
  ru: [],
  vn: ['log_col_b24', 'unit_ms'],
}

const enKeys = (Object.keys(STRINGS.en) as StringKey[]).sort()

t.test('en, ru and vn have exactly the same keys, none empty', async (t) => {
  t.same(Object.keys(en).sort(), enKeys, 'the English catalogue names the keys')
  t.same(Object.keys(ru).sort(), enKeys, 'ru has exactly the English keys')
  t.same(Object.keys(vn).sort(), enKeys, 'vn has exactly the English keys (no fallback fills it)')
  for (const lang of LANGS) {
    t.same(Object.keys(STRINGS[lang]).sort(), enKeys, `STRINGS.${lang} has exactly the English keys`)
    for (const [key, value] of Object.entries(STRINGS[lang])) {
      t.ok(typeof value === 'string' && value.trim() !== '', `${lang}.${key} is not empty`)
    }
  }
})

t.test('each ru and vn value keeps the same set of placeholders as English', async (t) => {
  for (const [lang, catalogue] of [
    ['ru', ru],
    ['vn', vn],
  ] as const) {
    for (const key of enKeys) {
      t.same(placeholders(catalogue[key]), placeholders(en[key]), `${lang}.${key}`)
    }
  }
})

t.test('no ru or vn value is left in English, except the allow-listed names and units', async (t) => {
  for (const [lang, catalogue] of [
    ['ru', ru],
    ['vn', vn],
  ] as const) {
    const same = enKeys.filter((k) => catalogue[k] === en[k])
    t.same(same, [...SAME_AS_ENGLISH[lang]].sort(), `${lang}: only the allow-listed values equal English`)
  }
  t.match(STRINGS.vn.welcome, /Chào mừng/)
  t.match(STRINGS.vn.h_test, /khách hàng tiềm năng/, 'vn says lead as Bitrix24 does')
})

t.test('pickLang maps Bitrix24 LANG codes to a page language', async (t) => {
  const cases: Array<[string | null | undefined, string]> = [
    ['ru', 'ru'],
    ['RU', 'ru'],
    ['kz', 'ru'],
    ['by', 'ru'],
    ['ua', 'en'],
    ['vn', 'vn'],
    ['vi', 'vn'],
    ['en', 'en'],
    ['de', 'en'],
    ['', 'en'],
    [null, 'en'],
    [undefined, 'en'],
    ['ru_RU', 'ru'],
    [' vn ', 'vn'],
  ]
  for (const [input, want] of cases) t.equal(pickLang(input), want, `${JSON.stringify(input)} → ${want}`)
})

t.test('strings() gives a copy, and fmt fills placeholders', async (t) => {
  const s = strings('en')
  s.app_title = 'changed'
  t.equal(strings('en').app_title, 'TikTok Leads', 'callers cannot change the shared record')
  t.equal(fmt(STRINGS.en.queue_value, { pending: 1, sending: 2, failed: 3 }), '1 waiting · 2 sending · 3 failed')
  t.equal(fmt('{a} {b}', { a: 'x' }), 'x {b}', 'unknown placeholders stay')
})

t.test('the stuck line with its last error is the stuck line plus the error, in every language', async (t) => {
  // Two keys instead of logic in the caller: a translation that changes one must change both.
  for (const lang of LANGS) {
    const s = STRINGS[lang]
    t.equal(s.problem_stuck_error.replace(/ \([^()]*\{error\}\)/, ''), s.problem_stuck, lang)
  }
})
