import t from 'tap'
import {
  JsonDepthError,
  MAX_JSON_DEPTH,
  parseJsonPreservingBigInts,
  topLevelArrayElements,
} from '../../src/tiktok/json.js'

t.test('19-digit integers keep every digit as strings', async (t) => {
  const out = parseJsonPreservingBigInts('{"id":7212345678901234567,"page_id":1700000000000001}')
  // Plain JSON.parse would give 7212345678901234000 here.
  t.same(out, { id: '7212345678901234567', page_id: 1700000000000001 })
  t.equal(typeof (out as { page_id: unknown }).page_id, 'number', 'a safe 16-digit integer stays a number')
})

t.test('the boundary is Number.MAX_SAFE_INTEGER', async (t) => {
  t.same(parseJsonPreservingBigInts('[9007199254740991, 9007199254740992, -9007199254740991, -9007199254740992]'), [
    9007199254740991,
    '9007199254740992',
    -9007199254740991,
    '-9007199254740992',
  ])
})

t.test('negative, nested and top-level big integers', async (t) => {
  t.same(parseJsonPreservingBigInts('-7212345678901234567'), '-7212345678901234567')
  t.same(parseJsonPreservingBigInts('12345678901234567890123'), '12345678901234567890123')
  t.same(parseJsonPreservingBigInts('{"a":[[7012345678901234567],{"b":[1,7012345678901234568]}]}'), {
    a: [['7012345678901234567'], { b: [1, '7012345678901234568'] }],
  })
  t.same(parseJsonPreservingBigInts('{ "x" :\n\t7012345678901234567 ,"y":2}'), { x: '7012345678901234567', y: 2 })
})

t.test('floats and exponents stay numbers', async (t) => {
  t.same(
    parseJsonPreservingBigInts('[12345678901234567890.5, 12345678901234567890e2, 1.5e300, 0.1, -0, 1E+2]'),
    // biome-ignore lint/correctness/noPrecisionLoss: the test is that JSON.parse rounds these the same way
    [12345678901234567890.5, 12345678901234567890e2, 1.5e300, 0.1, -0, 100],
  )
})

t.test('digits inside strings are left alone, escaped quotes included', async (t) => {
  const text = String.raw`{"a":"7212345678901234567","b":"say \"7212345678901234567\" twice","c":"\\","d":7212345678901234567,"e":"\\\"12345678901234567890"}`
  t.same(parseJsonPreservingBigInts(text), {
    a: '7212345678901234567',
    b: 'say "7212345678901234567" twice',
    c: '\\',
    d: '7212345678901234567',
    e: '\\"12345678901234567890',
  })
  t.same(parseJsonPreservingBigInts('{"k\\u0022":12345678901234567890}'), { 'k"': '12345678901234567890' })
})

t.test('keys that are strings of digits keep working', async (t) => {
  t.same(parseJsonPreservingBigInts('{"12345678901234567890":12345678901234567890}'), {
    '12345678901234567890': '12345678901234567890',
  })
})

t.test('invalid JSON is not made valid by the rewrite', async (t) => {
  // A bare number as an object key is invalid JSON; quoting it would silently accept it.
  t.throws(() => parseJsonPreservingBigInts('{12345678901234567890: 1}'), SyntaxError)
  t.throws(() => parseJsonPreservingBigInts('{"a":1,12345678901234567890:2}'), SyntaxError)
  // Two values in a row.
  t.throws(() => parseJsonPreservingBigInts('[1 12345678901234567890]'), SyntaxError)
  // Leading zeros are invalid JSON.
  t.throws(() => parseJsonPreservingBigInts('[012345678901234567890]'), SyntaxError)
  t.throws(() => parseJsonPreservingBigInts('[12345678901234567890x]'), SyntaxError)
})

t.test('bad JSON throws a SyntaxError that says where', async (t) => {
  t.throws(() => parseJsonPreservingBigInts(''), { name: 'SyntaxError', message: /^Invalid JSON: the body is empty/ })
  t.throws(() => parseJsonPreservingBigInts('{"id":7212345678901234567,'), {
    name: 'SyntaxError',
    message: /^Invalid JSON: /,
  })
  t.throws(() => parseJsonPreservingBigInts('{"a":1}}'), { name: 'SyntaxError', message: /^Invalid JSON: / })
  t.throws(() => parseJsonPreservingBigInts('{"a":"unterminated'), { name: 'SyntaxError' })
  // Positions refer to the caller's text, not the rewritten one (which is 2 characters longer here).
  t.throws(() => parseJsonPreservingBigInts('{"id":7212345678901234567}\n}'), {
    name: 'SyntaxError',
    message: 'Invalid JSON: Unexpected non-whitespace character after JSON at position 27 (line 2, column 1)',
  })
})

t.test('plain JSON without long digit runs parses as usual', async (t) => {
  t.same(parseJsonPreservingBigInts('{"a":[1,2.5,true,null,"x"]}'), { a: [1, 2.5, true, null, 'x'] })
})

t.test('nesting deeper than the limit is refused before parsing; brackets inside strings do not count', async (t) => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n)
  t.same(parseJsonPreservingBigInts(deep(MAX_JSON_DEPTH)), JSON.parse(deep(MAX_JSON_DEPTH)), 'exactly the limit parses')
  t.throws(() => parseJsonPreservingBigInts(deep(MAX_JSON_DEPTH + 1)), JsonDepthError)
  t.throws(() => parseJsonPreservingBigInts(`{"a":${deep(50_000)}}`), {
    name: 'JsonDepthError',
    message: /deeper than 64/,
  })
  t.throws(
    () => parseJsonPreservingBigInts(`{"a":${'{"b":'.repeat(100)}1${'}'.repeat(101)}`),
    JsonDepthError,
    'objects count too',
  )
  t.same(parseJsonPreservingBigInts(JSON.stringify({ a: '[[[[{{{{'.repeat(100), b: '\\"[[[' })), {
    a: '[[[[{{{{'.repeat(100),
    b: '\\"[[[',
  })
  t.throws(() => parseJsonPreservingBigInts(deep(3), 2), JsonDepthError, 'the limit is a parameter')
})

t.test('topLevelArrayElements gives each element of the named array as written', async (t) => {
  const text =
    '{"request_id":"r","entry" : [ {"id":7212345678901234567,"changes":[{"field":"a","value":[1,2]}]} ,\n {"id":"x","s":"],\\"{"} ],"time":1}'
  t.same(topLevelArrayElements(text, 'entry'), [
    '{"id":7212345678901234567,"changes":[{"field":"a","value":[1,2]}]}',
    '{"id":"x","s":"],\\"{"}',
  ])
  t.same(topLevelArrayElements('{"entry":[]}', 'entry'), [])
  t.same(topLevelArrayElements('{"entry":[1, "a" ,null,[2]]}', 'entry'), ['1', '"a"', 'null', '[2]'])
  t.same(
    topLevelArrayElements('{"entry":[1],"entry":[2,3]}', 'entry'),
    ['2', '3'],
    'the last of a repeated key, as JSON.parse',
  )
  t.equal(topLevelArrayElements('{"x":{"entry":[1]}}', 'entry'), null, 'only the top level')
  t.equal(topLevelArrayElements('[{"entry":[1]}]', 'entry'), null)
  t.equal(topLevelArrayElements('{"entry":{"a":[1]}}', 'entry'), null)
  t.equal(topLevelArrayElements('{"a":"entry","b":[1]}', 'entry'), null, 'a value is not a key')
})
