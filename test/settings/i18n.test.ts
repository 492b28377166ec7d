import t from 'tap'
import { fmt, LANGS, pickLang, STRINGS, strings, VN_TRANSLATED, type StringKey } from '../../src/settings/i18n.js'

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

t.test('every language has every English key, none empty, none extra', async (t) => {
  const keys = Object.keys(STRINGS.en).sort()
  for (const lang of LANGS) {
    t.same(Object.keys(STRINGS[lang]).sort(), keys, `${lang} has exactly the English keys`)
    for (const [key, value] of Object.entries(STRINGS[lang])) {
      t.ok(typeof value === 'string' && value.trim() !== '', `${lang}.${key} is not empty`)
    }
  }
})

t.test('translations keep the placeholders the page fills', async (t) => {
  for (const lang of LANGS) {
    for (const key of Object.keys(STRINGS.en) as StringKey[]) {
      t.same(placeholders(STRINGS[lang][key]), placeholders(STRINGS.en[key]), `${lang}.${key}`)
    }
  }
})

t.test('Russian is a full translation: only names and codes stay as in English', async (t) => {
  const same = (Object.keys(STRINGS.en) as StringKey[]).filter((k) => STRINGS.ru[k] === STRINGS.en[k])
  t.same(same, [], 'no Russian string is left in English')
})

t.test('Vietnamese covers the welcome and every heading, and falls back to English for the rest', async (t) => {
  const headings = (Object.keys(STRINGS.en) as StringKey[]).filter((k) => k.startsWith('h_'))
  for (const key of ['welcome', 'app_title', 'page_title', ...headings] as StringKey[]) {
    t.ok(VN_TRANSLATED.includes(key), `vn translates ${key}`)
    t.not(STRINGS.vn[key], STRINGS.en[key], `vn.${key} differs from English`)
  }
  t.match(STRINGS.vn.welcome, /Chào mừng/)
  const untranslated = (Object.keys(STRINGS.en) as StringKey[]).find((k) => !VN_TRANSLATED.includes(k))!
  t.equal(STRINGS.vn[untranslated], STRINGS.en[untranslated], `vn.${untranslated} falls back to English`)
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
