/**
 * The portal's REST endpoint: `/p/:memberId/rest/<method>[.json]` (the client_endpoint of a
 * portal is `${url}/p/${memberId}/rest/`, so one server hosts many portals).
 *
 * A request goes: fault injection → auth → leaky bucket → operating limit → method → envelope.
 * - Operating limit (operating.ts): a method whose accumulated time is above the limit answers
 *   429 OPERATION_TIME_LIMIT without running (it has ticked the bucket like any request); each
 *   call costs server time (with `realTime`, real wall time; a batch: the sum of its commands)
 *   and its `time` block carries the method's real `operating` / `operating_reset_at`. `batch`
 *   is not counted, its commands are, each against its own method (and may be refused alone).
 * - Execution time limit: once a request's cost reaches `maxRequestSec` (60) it is interrupted:
 *   no further batch commands start, and the connection is closed without an answer (the docs
 *   say only "interrupted by timeout"; the client cannot know what ran).
 * - A client that closes the socket does not stop the request: the remaining commands of a slow
 *   batch keep running on the portal.
 * - Faults (faults.ts): 500, 503, timeout, timeout-after-processing, reset, cut-mid-batch (socket
 *   destroyed after about half the commands, the rest still run), http-404 (an HTML page, no
 *   JSON code), and per-command faults inside a batch (failCommands).
 * - Parameters come from the query string and the body (form-encoded PHP-style or JSON, as
 *   b24jssdk sends it with `auth` inside the JSON), body winning.
 * - Success: `{result, [next], [total], time}`; error: `{error, error_description}` + status.
 * - Auth: no `auth` → 401 NO_AUTH_FOUND; unknown token or another portal's → 401 invalid_token;
 *   expired → 401 expired_token. Method names are case-insensitive; unknown → 404.
 * @see settings/how-to-call-rest-api/general-principles.md, authorization.md, data-encoding.md
 * @see _includes/system-errors.md
 * @see settings/performance/limits.md "Request Execution Time Limit", "Resource Intensity Limits"
 * @see settings/how-to-call-rest-api/batch.md
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { EmulatorContext } from './context.js'
import { timeBlock } from './envelope.js'
import { emitEvent } from './lifecycle.js'
import { METHODS } from './methods/index.js'
import { operationTimeLimit } from './operating.js'
import { invoke, type CallContext, type MethodEnv, type Outcome } from './methods/registry.js'
import { isPlainObject, parsePhpQuery, phpEntries, type PhpMap } from './php-query.js'
import { RestError, restErrors } from './rest-error.js'
import type { PortalState } from './state.js'
import type { RecordedCall } from './types.js'

interface Answer {
  status: number
  body: Record<string, unknown>
}

export function normalizeMethod(raw: string): string {
  return raw
    .replace(/^\/+/, '')
    .replace(/\.(json|xml)$/i, '')
    .trim()
    .toLowerCase()
}

function parseBody(contentType: string | undefined, body: unknown): PhpMap {
  if (typeof body !== 'string' || body.trim() === '') return {}
  if (contentType?.toLowerCase().includes('json')) {
    try {
      const parsed: unknown = JSON.parse(body)
      return isPlainObject(parsed) ? parsed : {}
    } catch {
      return {}
    }
  }
  return parsePhpQuery(body)
}

/** Query + body, the body winning, like PHP's $_REQUEST. */
export function requestParams(request: FastifyRequest): PhpMap {
  const rawUrl = request.raw.url ?? ''
  const q = rawUrl.indexOf('?')
  const query = q >= 0 ? parsePhpQuery(rawUrl.slice(q + 1)) : {}
  return { ...query, ...parseBody(request.headers['content-type'], request.body) }
}

function errorAnswer(err: RestError): Answer {
  return { status: err.status, body: err.body() }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Sleeps, but wakes at once when the emulator closes. */
function sleepUnlessClosing(ms: number, closing: AbortSignal): Promise<void> {
  if (ms <= 0 || closing.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      closing.removeEventListener('abort', done)
      resolve()
    }
    closing.addEventListener('abort', done, { once: true })
  })
}

/** The error a failCommands rule puts in a command's result_error. */
function commandFault(code: string): RestError {
  switch (code) {
    case 'QUERY_LIMIT_EXCEEDED':
      return restErrors.queryLimit()
    case 'OPERATION_TIME_LIMIT':
      return operationTimeLimit()
    case 'INTERNAL_SERVER_ERROR':
      return restErrors.internal()
    case 'ERROR_CORE':
      return restErrors.core('Internal error (injected)')
    default:
      return new RestError(400, code, 'Injected command error')
  }
}

/** What one HTTP request has spent and whether it was cut. */
interface RequestRun {
  /** Server seconds spent so far (the sum of the calls' costs). */
  spentSec: number
  /** Past maxRequestSec (or the emulator closing): no further commands. */
  interrupted: boolean
  /** Called after each executed call (a batch command or the direct call). */
  afterCall?: () => void
}

/**
 * An env for one request: every call is checked against and charged to the operating limit,
 * injected command faults apply, and the request's time is tracked for the 60 s limit.
 */
function requestEnv(
  ctx: EmulatorContext,
  env: MethodEnv,
  portal: PortalState,
  run: RequestRun,
): { env: MethodEnv; costed: (method: string, work: () => Promise<Outcome>) => Promise<Outcome> } {
  const meter = ctx.operating
  const costed = async (method: string, work: () => Promise<Outcome>): Promise<Outcome> => {
    const cost = meter.cost(method)
    if (meter.realTime) await sleepUnlessClosing(cost * 1000, ctx.closing)
    const outcome = await work()
    meter.charge(portal.memberId, ctx.clientId, method, cost)
    run.spentSec += cost
    if (run.spentSec >= meter.maxRequestSec || ctx.closing.aborted) run.interrupted = true
    run.afterCall?.()
    return outcome
  }
  const wrapped: MethodEnv = {
    ...env,
    dispatch: async (callCtx, method, params) => {
      const code = ctx.faults.takeCommand(method, portal.memberId)
      if (code !== undefined) {
        if (code === 'OPERATION_TIME_LIMIT') ctx.counters.operatingRefused += 1
        return { ok: false, error: commandFault(code) }
      }
      if (method === 'batch') return env.dispatch(callCtx, method, params)
      if (meter.blocked(portal.memberId, ctx.clientId, method)) {
        ctx.counters.operatingRefused += 1
        return { ok: false, error: operationTimeLimit() }
      }
      return costed(method, () => env.dispatch(callCtx, method, params))
    },
    operatingStatus: (p, method) => meter.status(p.memberId, ctx.clientId, method),
    interrupted: () => run.interrupted,
  }
  return { env: wrapped, costed }
}

export function methodEnv(ctx: EmulatorContext): MethodEnv {
  const env: MethodEnv = {
    now: ctx.now,
    clientId: ctx.clientId,
    emitEvent: (portal, event, data, userId) => emitEvent(ctx, portal, event, data, userId),
    dispatch: (callCtx: CallContext, method: string, params: PhpMap): Promise<Outcome> =>
      invoke(METHODS, { ...callCtx, params }, method),
    record: (call: RecordedCall) => {
      ctx.calls.push(call)
    },
  }
  return env
}

type Authorized = { ok: true; userId: number } | { ok: false; error: RestError }

/** Resolves `auth` to a user of this portal. */
export function authorize(ctx: EmulatorContext, portal: PortalState, auth: unknown): Authorized {
  if (typeof auth !== 'string' || auth.trim() === '') return { ok: false, error: restErrors.noAuth() }
  const check = ctx.tokens.checkAccess(auth.trim())
  if (!check.ok) {
    return {
      ok: false,
      error: check.reason === 'expired_token' ? restErrors.expiredToken() : restErrors.invalidToken(),
    }
  }
  if (check.memberId !== portal.memberId) return { ok: false, error: restErrors.invalidToken() }
  return { ok: true, userId: check.userId }
}

async function execute(
  ctx: EmulatorContext,
  env: MethodEnv,
  portal: PortalState | undefined,
  method: string,
  params: PhpMap,
  auth: unknown,
  call: RecordedCall,
  run: RequestRun,
): Promise<Answer> {
  const started = ctx.now()
  if (!portal) {
    return {
      status: 404,
      body: { error: 'ERROR_PORTAL_NOT_FOUND', error_description: 'No such portal on this emulator' },
    }
  }
  const who = authorize(ctx, portal, auth)
  if (!who.ok) return errorAnswer(who.error)
  call.userId = who.userId
  // One tick per HTTP request, a batch included; refused requests add nothing. @see limits.md
  if (!portal.bucket.tryTake()) {
    ctx.counters.rateLimited += 1
    return errorAnswer(restErrors.queryLimit())
  }
  // Checked before the call, after the bucket tick. @see limits.md "Resource Intensity Limits"
  const counted = method !== 'batch'
  if (counted && ctx.operating.blocked(portal.memberId, ctx.clientId, method)) {
    ctx.counters.operatingRefused += 1
    return errorAnswer(operationTimeLimit())
  }
  const scoped = requestEnv(ctx, env, portal, run)
  const callCtx: CallContext = {
    portal,
    userId: who.userId,
    scopes: ctx.scopes,
    params,
    inBatch: false,
    env: scoped.env,
  }
  const call1 = () => invoke(METHODS, callCtx, method)
  const outcome = counted ? await scoped.costed(method, call1) : await call1()
  if (!outcome.ok) return errorAnswer(outcome.error)
  const body: Record<string, unknown> = { result: outcome.result }
  if (outcome.next !== undefined) body['next'] = outcome.next
  if (outcome.total !== undefined) body['total'] = outcome.total
  body['time'] = timeBlock(
    started,
    ctx.now(),
    counted ? ctx.operating.status(portal.memberId, ctx.clientId, method) : undefined,
  )
  return { status: 200, body }
}

const NOT_FOUND_PAGE =
  '<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n'

export function registerRest(app: FastifyInstance, ctx: EmulatorContext): void {
  const env = methodEnv(ctx)

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const routeParams = request.params as { memberId: string; '*': string }
    const memberId = routeParams.memberId
    const method = normalizeMethod(routeParams['*'] ?? '')
    const all = requestParams(request)
    const { auth, ...params } = all
    ctx.counters.restRequests += 1
    const call: RecordedCall = { at: ctx.now(), memberId, method, params, status: 0 }
    ctx.calls.push(call)

    const fault = ctx.faults.take(method, memberId)
    if (fault === 'timeout') {
      call.error = 'timeout'
      reply.hijack()
      ctx.hold(request.raw.socket)
      return reply
    }
    if (fault === 'http-404') {
      // A wrong endpoint or a proxy's page: HTML, no Bitrix24 error code, nothing run.
      call.status = 404
      call.error = fault
      return reply.code(404).header('content-type', 'text/html; charset=utf-8').send(NOT_FOUND_PAGE)
    }

    const run: RequestRun = { spentSec: 0, interrupted: false }
    let cut = false
    if (fault === 'cut-mid-batch') {
      // About half the commands run, then the connection drops; the rest still run.
      const commands = method === 'batch' ? Math.min(phpEntries(params['cmd'])?.length ?? 0, 50) : 0
      const cutAfter = Math.max(1, Math.floor(commands / 2))
      let done = 0
      run.afterCall = () => {
        done += 1
        if (done === cutAfter && !cut) {
          cut = true
          request.raw.socket.destroy()
        }
      }
    }

    let answer: Answer
    if (fault === 500) answer = errorAnswer(restErrors.internal())
    else if (fault === 503) {
      ctx.counters.rateLimited += 1
      answer = errorAnswer(restErrors.queryLimit())
    } else {
      answer = await execute(ctx, env, ctx.findPortal(memberId), method, params, auth, call, run)
    }
    call.status = answer.status
    if (typeof answer.body['error'] === 'string') call.error = answer.body['error']

    if (fault === 'cut-mid-batch' || run.interrupted || request.raw.socket.destroyed) {
      // Cut by the fault, interrupted past the execution time limit, or the client has gone:
      // what ran stays done, and no answer is sent.
      call.status = 0
      call.error = fault === 'cut-mid-batch' ? fault : run.interrupted ? 'execution-time-limit' : 'client-closed'
      reply.hijack()
      if (!request.raw.socket.destroyed) request.raw.socket.destroy()
      return reply
    }

    if (fault === 'timeout-after-processing' || fault === 'reset') {
      call.status = 0
      call.error = fault
      reply.hijack()
      if (fault === 'reset') request.raw.socket.destroy()
      else ctx.hold(request.raw.socket)
      return reply
    }

    if (ctx.faults.latencyMs > 0) await sleep(ctx.faults.latencyMs)
    return reply
      .code(answer.status)
      .header('content-type', 'application/json; charset=utf-8')
      .send(JSON.stringify(answer.body))
  }

  app.route({ method: ['GET', 'POST'], url: '/p/:memberId/rest/*', handler })
}
