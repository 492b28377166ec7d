import { AjaxError } from '@bitrix24/b24jssdk'
import t from 'tap'
import { asB24Error, classifyCommandError, classifyError } from '../../src/bitrix24/classify.js'
import { OAuthError } from '../../src/bitrix24/oauth.js'
import { B24_ERR, B24Error } from '../../src/errors.js'

/**
 * The one classifier's table, without a server: every whole-call failure and every batch
 * command error the app knows, and what it is sorted into. A changed row changes how delivery
 * treats a lead (resend, reconcile, wait, fail), so each row is pinned here.
 */

const ajax = (code: string, status: number, originalError?: unknown) =>
  new AjaxError({ code, status, description: `${code} happened`, ...(originalError ? { originalError } : {}) })

t.test('call errors: each Bitrix24 or network code lands in its kind with a stable B24_ERR_* code', async (t) => {
  const table: Array<[string, number, B24Error['kind'], B24Error['code']]> = [
    ['QUERY_LIMIT_EXCEEDED', 503, 'rate_limited', B24_ERR.RATE_LIMITED],
    ['OPERATION_TIME_LIMIT', 429, 'rate_limited', B24_ERR.OPERATING_LIMIT],
    ['ECONNREFUSED', 0, 'transient', B24_ERR.TRANSIENT],
    ['ENOTFOUND', 0, 'transient', B24_ERR.TRANSIENT],
    ['ERR_INVALID_URL', 0, 'transient', B24_ERR.TRANSIENT],
    ['PAYMENT_REQUIRED', 402, 'transient', B24_ERR.TRANSIENT],
    ['SOMETHING', 402, 'transient', B24_ERR.TRANSIENT],
    ['REQUEST_TIMEOUT', 0, 'outcome_unknown', B24_ERR.OUTCOME_UNKNOWN],
    ['ECONNRESET', 0, 'outcome_unknown', B24_ERR.OUTCOME_UNKNOWN],
    ['EPIPE', 0, 'outcome_unknown', B24_ERR.OUTCOME_UNKNOWN],
    ['INTERNAL_SERVER_ERROR', 500, 'outcome_unknown', B24_ERR.OUTCOME_UNKNOWN],
    ['ERROR_CORE', 502, 'outcome_unknown', B24_ERR.OUTCOME_UNKNOWN],
    ['expired_token', 401, 'reauth_required', B24_ERR.REAUTH_REQUIRED],
    ['invalid_token', 401, 'reauth_required', B24_ERR.REAUTH_REQUIRED],
    ['NO_AUTH_FOUND', 401, 'reauth_required', B24_ERR.REAUTH_REQUIRED],
    // No Bitrix24 error in the answer (a 404 page, a proxy): the portal's failure, not the call's.
    ['ERR_BAD_REQUEST', 404, 'transient', B24_ERR.TRANSIENT],
    ['JSSDK_RESPONSE_ERROR', 400, 'transient', B24_ERR.TRANSIENT],
    ['Not Found', 404, 'transient', B24_ERR.TRANSIENT],
    ['ACCESS_DENIED', 403, 'permanent', B24_ERR.PERMANENT],
    ['ERROR_ARGUMENT', 400, 'permanent', B24_ERR.PERMANENT],
  ]
  for (const [b24Code, status, kind, code] of table) {
    const e = classifyError(ajax(b24Code, status))
    t.ok(e instanceof B24Error, `${b24Code} ${status} is a B24Error`)
    t.equal(e.kind, kind, `${b24Code} ${status} → ${kind}`)
    t.equal(e.code, code, `${b24Code} ${status} → ${code}`)
    t.equal(e.b24Code, b24Code, `${b24Code} ${status} keeps Bitrix24's code`)
    t.equal(e.status, status)
  }
})

t.test(
  'OAuth failures: a refused refresh needs re-authorisation, an unreachable OAuth server is transient',
  async (t) => {
    const refused = classifyError(new OAuthError('invalid_grant', 'refresh token refused', true))
    t.equal(refused.code, B24_ERR.REAUTH_REQUIRED)
    t.equal(refused.b24Code, 'invalid_grant')
    const down = classifyError(ajax('JSSDK_AXIOS_ERROR', 0, new OAuthError('OAUTH_UNREACHABLE', 'no answer', false)))
    t.equal(down.code, B24_ERR.TRANSIENT, 'an OAuthError inside the SDK error is sorted as itself')
    t.equal(down.b24Code, 'OAUTH_UNREACHABLE')
  },
)

t.test('anything else thrown has an unknown outcome; a B24Error passes through unchanged', async (t) => {
  const e = classifyError(new Error('socket hang up'))
  t.equal(e.code, B24_ERR.OUTCOME_UNKNOWN)
  t.equal(e.b24Code, 'UNKNOWN')
  const own = new B24Error('NOT_INSTALLED', 401, 'not_installed', 'not installed')
  t.equal(classifyError(own), own)
  t.equal(own.code, B24_ERR.NOT_INSTALLED)
  t.equal(asB24Error('boom', 'transient').code, B24_ERR.TRANSIENT)
  t.equal(asB24Error(own, 'transient'), own)
  const again = own.as('transient')
  t.equal(again.code, B24_ERR.TRANSIENT)
  t.equal(again.b24Code, 'NOT_INSTALLED', 're-sorting keeps what Bitrix24 said')
})

t.test('the original error is kept as a non-enumerable cause, so no log or spread carries it', async (t) => {
  const secret = 'access-token-5f3a9c'
  // What an HTTP client's error holds: the request, its token included.
  const original = Object.assign(new Error('socket hang up'), { config: { headers: { authorization: secret } } })
  const e = classifyError(original)
  t.equal(e.cause, original, 'reachable for debugging')
  t.notOk(Object.keys(e).includes('cause'), 'not an own enumerable key')
  t.notOk(JSON.stringify(e).includes(secret), 'JSON of the error does not carry it')
  t.notOk(JSON.stringify({ ...e }).includes(secret), 'a spread does not carry it')
  t.same(Object.keys(e).sort(), ['b24Code', 'code', 'kind', 'name', 'status'].sort())
})

t.test('batch command errors: limited, retry or failed, with the text the delivery log shows', async (t) => {
  t.same(classifyCommandError({ error: 'OPERATION_TIME_LIMIT', error_description: 'too much' }), { kind: 'limited' })
  for (const code of ['QUERY_LIMIT_EXCEEDED', 'INTERNAL_SERVER_ERROR', 'ERROR_CORE', 'PAYMENT_REQUIRED'])
    t.same(classifyCommandError({ error: code }), { kind: 'retry' }, `${code} is worth a retry`)
  t.same(classifyCommandError({ error: 'ERROR_ARGUMENT', error_description: 'bad PHONE' }), {
    kind: 'failed',
    error: 'ERROR_ARGUMENT: bad PHONE',
  })
  t.same(classifyCommandError({}), { kind: 'failed', error: 'error: Bitrix24 refused the lead' })
  t.same(classifyCommandError({ error: 'ACCESS_DENIED' }, 'the deal'), {
    kind: 'failed',
    error: 'ACCESS_DENIED: Bitrix24 refused the deal',
  })
})
