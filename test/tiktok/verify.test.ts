import { createHmac } from 'node:crypto'
import t from 'tap'
import {
  escapeNonAscii,
  signTikTokSignature,
  signXOpenSignature,
  verifyTikTokRequest,
  type VerifyInput,
} from '../../src/tiktok/verify.js'

const SECRET = 'current-app-secret'
const PREVIOUS = 'previous-app-secret'
const NOW_S = 1_743_639_760
const body = Buffer.from(
  '{"object":1,"entry":[{"id":7489000000000000001,"changes":[{"field":"name","value":"Zoë Ångström"}]}]}',
)

function input(headers: VerifyInput['headers'], over: Partial<VerifyInput> = {}): VerifyInput {
  return { rawBody: body, headers, secrets: [SECRET, PREVIOUS], urlKeyMatched: false, nowMs: NOW_S * 1000, ...over }
}

t.test('signTikTokSignature follows the documented recipe: hex HMAC-SHA256 of "t.body"', async (t) => {
  const expected = createHmac('sha256', SECRET)
    .update(`${NOW_S}.${body.toString('utf8')}`)
    .digest('hex')
  t.equal(signTikTokSignature(SECRET, body, NOW_S), `t=${NOW_S},s=${expected}`)
  t.equal(
    signTikTokSignature(SECRET, body.toString('utf8'), NOW_S + 0.9),
    `t=${NOW_S},s=${expected}`,
    'string body, whole seconds',
  )
  t.equal(signXOpenSignature(SECRET, body), createHmac('sha256', SECRET).update(body).digest('hex'))
})

t.test('TikTok-Signature: valid', async (t) => {
  t.same(verifyTikTokRequest(input({ 'tiktok-signature': signTikTokSignature(SECRET, body, NOW_S - 10) })), {
    scheme: 'tiktok-signature',
    valid: true,
    signatureValid: true,
    detail: 'TikTok-Signature valid',
  })
})

t.test('TikTok-Signature: header names in any case, array values', async (t) => {
  const sig = signTikTokSignature(SECRET, body, NOW_S)
  for (const name of ['TikTok-Signature', 'Tiktok-Signature', 'TIKTOK-SIGNATURE', 'tiktok-signature']) {
    t.equal(verifyTikTokRequest(input({ [name]: sig })).valid, true, name)
  }
  t.equal(verifyTikTokRequest(input({ 'tiktok-signature': [sig, 'junk'] })).valid, true, 'first of repeated headers')
  const open = signXOpenSignature(SECRET, body)
  for (const name of ['X-Open-Signature', 'x-open-signature', 'X-OPEN-SIGNATURE']) {
    t.equal(verifyTikTokRequest(input({ [name]: open })).valid, true, name)
  }
})

t.test('TikTok-Signature: tampered body', async (t) => {
  const sig = signTikTokSignature(SECRET, body, NOW_S)
  const tampered = Buffer.from(body.toString('utf8').replace('7489000000000000001', '7489000000000000002'))
  t.same(verifyTikTokRequest(input({ 'tiktok-signature': sig }, { rawBody: tampered })), {
    scheme: 'tiktok-signature',
    valid: false,
    signatureValid: false,
    detail: 'TikTok-Signature mismatch',
  })
})

t.test('TikTok-Signature: re-serialised JSON does not verify (raw bytes only)', async (t) => {
  const raw = Buffer.from('{ "object": 1 }')
  const sig = signTikTokSignature(SECRET, raw, NOW_S)
  t.equal(verifyTikTokRequest(input({ 'tiktok-signature': sig }, { rawBody: raw })).valid, true)
  t.equal(
    verifyTikTokRequest(input({ 'tiktok-signature': sig }, { rawBody: Buffer.from('{"object":1}') })).valid,
    false,
  )
})

t.test('TikTok-Signature: wrong secret', async (t) => {
  const res = verifyTikTokRequest(input({ 'tiktok-signature': signTikTokSignature('someone-else', body, NOW_S) }))
  t.equal(res.valid, false)
  t.equal(res.detail, 'TikTok-Signature mismatch')
})

t.test('TikTok-Signature: the previous secret is accepted during its grace period, and said so', async (t) => {
  t.same(verifyTikTokRequest(input({ 'tiktok-signature': signTikTokSignature(PREVIOUS, body, NOW_S) })), {
    scheme: 'tiktok-signature',
    valid: true,
    signatureValid: true,
    detail: 'TikTok-Signature valid (previous secret)',
  })
  const onlyCurrent = verifyTikTokRequest(
    input({ 'tiktok-signature': signTikTokSignature(PREVIOUS, body, NOW_S) }, { secrets: [SECRET] }),
  )
  t.equal(onlyCurrent.valid, false, 'once the grace period ends the old secret fails')
})

t.test('TikTok-Signature: old and future timestamps are replays', async (t) => {
  const old = verifyTikTokRequest(input({ 'tiktok-signature': signTikTokSignature(SECRET, body, NOW_S - 812) }))
  t.same(old, {
    scheme: 'tiktok-signature',
    valid: false,
    signatureValid: false,
    detail: 'TikTok-Signature timestamp 812 s old',
  })
  const future = verifyTikTokRequest(input({ 'tiktok-signature': signTikTokSignature(SECRET, body, NOW_S + 400) }))
  t.equal(future.detail, 'TikTok-Signature timestamp 400 s in the future')
  t.equal(future.valid, false)
  t.equal(
    verifyTikTokRequest(input({ 'tiktok-signature': signTikTokSignature(SECRET, body, NOW_S - 300) })).valid,
    true,
    'edge of the window',
  )
  t.equal(
    verifyTikTokRequest(input({ 'tiktok-signature': signTikTokSignature(SECRET, body, NOW_S + 300) })).valid,
    true,
  )
  t.equal(
    verifyTikTokRequest(input({ 'tiktok-signature': signTikTokSignature(SECRET, body, NOW_S - 301) })).valid,
    false,
  )
  const tight = verifyTikTokRequest(
    input({ 'tiktok-signature': signTikTokSignature(SECRET, body, NOW_S - 10) }, { toleranceS: 5 }),
  )
  t.equal(tight.detail, 'TikTok-Signature timestamp 10 s old', 'toleranceS is honoured')
})

t.test('TikTok-Signature: the timestamp is signed, so moving it breaks the signature', async (t) => {
  const sig = signTikTokSignature(SECRET, body, NOW_S - 1000)
  const moved = sig.replace(`t=${NOW_S - 1000}`, `t=${NOW_S}`)
  t.equal(verifyTikTokRequest(input({ 'tiktok-signature': moved })).detail, 'TikTok-Signature mismatch')
})

t.test('TikTok-Signature: several s= values (any may match), spaces, order', async (t) => {
  const good = signTikTokSignature(SECRET, body, NOW_S).split(',s=')[1] as string
  const value = ` s=${'0'.repeat(64)} , t=${NOW_S}, s=${good.toUpperCase()} `
  t.equal(verifyTikTokRequest(input({ 'tiktok-signature': value })).valid, true)
})

t.test('TikTok-Signature: malformed values', async (t) => {
  const detail = (v: string) => verifyTikTokRequest(input({ 'tiktok-signature': v })).detail
  t.equal(detail(`s=${'a'.repeat(64)}`), 'TikTok-Signature malformed: no t=<unix seconds>')
  t.equal(detail(`t=abc,s=${'a'.repeat(64)}`), 'TikTok-Signature malformed: no t=<unix seconds>')
  t.equal(detail(`t=${NOW_S}`), 'TikTok-Signature malformed: no s=<hex signature>')
  t.equal(detail(`t=${NOW_S},s=xyz`), 'TikTok-Signature malformed: s is not a 64-character hex HMAC-SHA256')
  t.equal(
    detail(`t=${NOW_S},s=${'a'.repeat(63)}`),
    'TikTok-Signature malformed: s is not a 64-character hex HMAC-SHA256',
  )
})

t.test('TikTok-Signature: a near-miss scheme is named, to settle what TikTok really signs', async (t) => {
  const bodyOnly = createHmac('sha256', SECRET).update(body).digest('hex')
  t.equal(
    verifyTikTokRequest(input({ 'tiktok-signature': `t=${NOW_S},s=${bodyOnly}` })).detail,
    'TikTok-Signature mismatch (it matches an HMAC of the body alone, without "t.")',
  )
  const noDot = createHmac('sha256', SECRET).update(`${NOW_S}`).update(body).digest('hex')
  t.equal(
    verifyTikTokRequest(input({ 'tiktok-signature': `t=${NOW_S},s=${noDot}` })).detail,
    'TikTok-Signature mismatch (it matches an HMAC of t + body without the ".")',
  )
})

t.test('precedence: TikTok-Signature decides over X-Open-Signature and the URL key', async (t) => {
  const res = verifyTikTokRequest(
    input(
      {
        'tiktok-signature': signTikTokSignature('wrong', body, NOW_S),
        'x-open-signature': signXOpenSignature(SECRET, body),
      },
      { urlKeyMatched: true },
    ),
  )
  t.same(res, { scheme: 'tiktok-signature', valid: false, signatureValid: false, detail: 'TikTok-Signature mismatch' })
})

t.test('X-Open-Signature: raw body, \\uXXXX-escaped body, previous secret, mismatch', async (t) => {
  t.same(verifyTikTokRequest(input({ 'X-Open-Signature': signXOpenSignature(SECRET, body) })), {
    scheme: 'x-open-signature',
    valid: true,
    signatureValid: true,
    detail: 'X-Open-Signature valid (no timestamp: replayable; prefer TikTok-Signature)',
  })
  // The adapter's variant: the same body with non-ASCII written as \uXXXX before signing.
  const escaped = escapeNonAscii(body.toString('utf8'))
  t.match(escaped, /Zo\\u00eb \\u00c5ngstr\\u00f6m/)
  t.same(verifyTikTokRequest(input({ 'X-Open-Signature': signXOpenSignature(SECRET, escaped) })), {
    scheme: 'x-open-signature',
    valid: true,
    signatureValid: true,
    detail:
      'X-Open-Signature valid (body with non-ASCII escaped as \\uXXXX; no timestamp: replayable; prefer TikTok-Signature)',
  })
  t.equal(
    verifyTikTokRequest(input({ 'X-Open-Signature': signXOpenSignature(PREVIOUS, body) })).detail,
    'X-Open-Signature valid (no timestamp: replayable; prefer TikTok-Signature, previous secret)',
  )
  t.same(verifyTikTokRequest(input({ 'X-Open-Signature': signXOpenSignature('wrong', body) })), {
    scheme: 'x-open-signature',
    valid: false,
    signatureValid: false,
    detail: 'X-Open-Signature mismatch',
  })
  const tampered = Buffer.from(body.toString('utf8').replace('name', 'nome'))
  t.equal(
    verifyTikTokRequest(input({ 'X-Open-Signature': signXOpenSignature(SECRET, body) }, { rawBody: tampered })).valid,
    false,
  )
})

t.test('X-Open-Signature: only hex is accepted; base64 is recognised in the detail', async (t) => {
  const b64 = createHmac('sha256', SECRET).update(body).digest('base64')
  const res = verifyTikTokRequest(input({ 'x-open-signature': b64 }))
  t.equal(res.valid, false)
  t.equal(res.detail, 'X-Open-Signature malformed: expected 64 hex characters (the value looks like base64)')
  t.equal(verifyTikTokRequest(input({ 'x-open-signature': `sha256=${signXOpenSignature(SECRET, body)}` })).valid, true)
})

t.test('escapeNonAscii writes UTF-16 units, surrogate pairs included', async (t) => {
  t.equal(escapeNonAscii('äöå'), '\\u00e4\\u00f6\\u00e5')
  t.equal(escapeNonAscii('a😀b'), 'a\\ud83d\\ude00b')
  t.equal(escapeNonAscii('plain'), 'plain')
})

t.test('url-key: valid only when the key matched and no signature header is present', async (t) => {
  t.same(verifyTikTokRequest(input({ 'content-type': 'application/json' }, { urlKeyMatched: true })), {
    scheme: 'url-key',
    valid: true,
    signatureValid: false,
    detail: 'URL key matched (no signature header)',
  })
  t.same(verifyTikTokRequest(input({}, { urlKeyMatched: false })), {
    scheme: 'none',
    valid: false,
    signatureValid: false,
    detail: 'no TikTok-Signature or X-Open-Signature header and no URL key',
  })
  t.equal(
    verifyTikTokRequest(input({ 'tiktok-signature': '  ' }, { urlKeyMatched: true })).scheme,
    'url-key',
    'a blank header is absent',
  )
})

t.test(
  'requireSignature (enforce): a matched URL key, a missing or blank header, or no secret is never valid',
  async (t) => {
    const enforce = { urlKeyMatched: true, requireSignature: true }
    for (const headers of [{}, { 'tiktok-signature': '' }, { 'tiktok-signature': '  ' }, { 'x-open-signature': '' }]) {
      const res = verifyTikTokRequest(input(headers, enforce))
      t.same(
        { valid: res.valid, signatureValid: res.signatureValid, scheme: res.scheme },
        { valid: false, signatureValid: false, scheme: 'none' },
        JSON.stringify(headers),
      )
      t.match(res.detail, /no signature header.*enforce mode accepts only/)
    }
    const noSecret = verifyTikTokRequest(
      input({ 'tiktok-signature': signTikTokSignature(SECRET, body, NOW_S) }, { ...enforce, secrets: [] }),
    )
    t.same({ valid: noSecret.valid, scheme: noSecret.scheme }, { valid: false, scheme: 'tiktok-signature' })
    t.equal(
      verifyTikTokRequest(input({ 'tiktok-signature': signTikTokSignature(SECRET, body, NOW_S) }, enforce)).valid,
      true,
      'a good signature still passes',
    )
    t.equal(verifyTikTokRequest(input({ 'x-open-signature': signXOpenSignature(SECRET, body) }, enforce)).valid, true)
  },
)

t.test('without any secret a signature header cannot be checked, so the URL key decides', async (t) => {
  const sig = signTikTokSignature(SECRET, body, NOW_S)
  t.same(verifyTikTokRequest(input({ 'tiktok-signature': sig }, { secrets: [], urlKeyMatched: true })), {
    scheme: 'url-key',
    valid: true,
    signatureValid: false,
    detail: 'URL key matched (TikTok-Signature not checked: no app secret configured)',
  })
  t.same(verifyTikTokRequest(input({ 'x-open-signature': 'ab' }, { secrets: [''], urlKeyMatched: false })), {
    scheme: 'x-open-signature',
    valid: false,
    signatureValid: false,
    detail: 'X-Open-Signature present but no app secret is configured, and no URL key matched',
  })
})

t.test('details never contain a secret', async (t) => {
  const cases = [
    input({ 'tiktok-signature': signTikTokSignature(SECRET, body, NOW_S) }),
    input({ 'tiktok-signature': signTikTokSignature('x', body, NOW_S) }),
    input({ 'x-open-signature': signXOpenSignature('x', body) }),
  ]
  for (const c of cases) t.notMatch(verifyTikTokRequest(c).detail, /app-secret/)
})
