/**
 * The PHP query codec: Bitrix24 reads `parse_str` and writes `http_build_query`, so the app's
 * form bodies and the emulator's event POSTs must round-trip through the same rules.
 */
import t from 'tap'
import { parsePhpQuery, phpValues, stringifyPhpQuery, toPhpJson } from './php-query.js'

t.test('parse_str: nested keys, appends, encoded brackets', async (t) => {
  t.same(parsePhpQuery('fields[TITLE]=x&fields[PHONE][0][VALUE]=%2B84+1&fields[PHONE][0][VALUE_TYPE]=WORK'), {
    fields: { TITLE: 'x', PHONE: { '0': { VALUE: '+84 1', VALUE_TYPE: 'WORK' } } },
  })
  t.same(parsePhpQuery('select[]=ID&select[]=TITLE'), { select: { '0': 'ID', '1': 'TITLE' } })
  t.same(parsePhpQuery('filter%5BORIGIN_ID%5D%5B0%5D=a&filter%5BORIGIN_ID%5D%5B1%5D=b'), {
    filter: { ORIGIN_ID: { '0': 'a', '1': 'b' } },
  })
  t.same(parsePhpQuery('a.b=1&c d=2'), { a_b: '1', c_d: '2' }, 'dots and spaces in names become _')
  const broken = parsePhpQuery('x=%41%E2%82%AC%A&y')
  t.same(broken, { x: 'A€%A', y: '' }, 'a malformed escape is kept, the rest decoded')
  t.same(parsePhpQuery('__proto__[x]=1'), {}, 'prototype keys are dropped')
})

t.test('http_build_query: brackets encoded, booleans 1/0, null dropped', async (t) => {
  const text = stringifyPhpQuery({ event: 'ONAPPINSTALL', data: { CLEAN: true, X: null }, auth: { member_id: 'a b' } })
  t.equal(text, 'event=ONAPPINSTALL&data%5BCLEAN%5D=1&auth%5Bmember_id%5D=a+b')
  t.same(parsePhpQuery(text), { event: 'ONAPPINSTALL', data: { CLEAN: '1' }, auth: { member_id: 'a b' } })
  t.equal(stringifyPhpQuery({ list: ['a', 'b'] }), 'list%5B0%5D=a&list%5B1%5D=b')
})

t.test('PHP arrays: lists and maps are the same value', async (t) => {
  t.same(phpValues({ '0': 'a', '1': 'b' }), ['a', 'b'])
  t.same(phpValues(['a']), ['a'])
  t.equal(phpValues('a'), undefined)
  t.same(toPhpJson([]), [], 'an empty PHP array prints as []')
  t.same(
    toPhpJson([
      ['0', 'a'],
      ['1', 'b'],
    ]),
    ['a', 'b'],
  )
  t.same(
    toPhpJson([
      ['0', 'a'],
      ['2', 'b'],
    ]),
    { '0': 'a', '2': 'b' },
  )
  t.same(toPhpJson([['k', 1]]), { k: 1 })
})
