/**
 * The portal's REST endpoint: `/p/:memberId/rest/<method>[.json]` (the client_endpoint of a
 * portal is `${url}/p/${memberId}/rest/`, so one server hosts many portals).
 *
 * A request goes: fault injection → auth → leaky bucket → method → envelope.
 * - Parameters come from the query string and the body (form-encoded PHP-style or JSON, as
 *   b24jssdk sends it with `auth` inside the JSON), body winning.
 * - Success: `{result, [next], [total], time}`; error: `{error, error_description}` + status.
 * - Auth: no `auth` → 401 NO_AUTH_FOUND; unknown token or another portal's → 401 invalid_token;
 *   expired → 401 expired_token. Method names are case-insensitive; unknown → 404.
 * @see settings/how-to-call-rest-api/general-principles.md, authorization.md, data-encoding.md
 * @see _includes/system-errors.md
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { EmulatorContext } from './context.js'
import { timeBlock } from './envelope.js'
import { emitEvent } from './lifecycle.js'
import { METHODS } from './methods/index.js'
import { invoke, type CallContext, type MethodEnv, type Outcome } from './methods/registry.js'
import { isPlainObject, parsePhpQuery, type PhpMap } from './php-query.js'
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
    return { ok: false, error: check.reason === 'expired_token' ? restErrors.expiredToken() : restErrors.invalidToken() }
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
): Promise<Answer> {
  const started = ctx.now()
  if (!portal) {
    return { status: 404, body: { error: 'ERROR_PORTAL_NOT_FOUND', error_description: 'No such portal on this emulator' } }
  }
  const who = authorize(ctx, portal, auth)
  if (!who.ok) return errorAnswer(who.error)
  call.userId = who.userId
  // One tick per HTTP request, a batch included; refused requests add nothing. @see limits.md
  if (!portal.bucket.tryTake()) {
    ctx.counters.rateLimited += 1
    return errorAnswer(restErrors.queryLimit())
  }
  const outcome = await invoke(METHODS, {
    portal,
    userId: who.userId,
    scopes: ctx.scopes,
    params,
    inBatch: false,
    env,
  }, method)
  if (!outcome.ok) return errorAnswer(outcome.error)
  const body: Record<string, unknown> = { result: outcome.result }
  if (outcome.next !== undefined) body['next'] = outcome.next
  if (outcome.total !== undefined) body['total'] = outcome.total
  body['time'] = timeBlock(started, ctx.now())
  return { status: 200, body }
}

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

    let answer: Answer
    if (fault === 500) answer = errorAnswer(restErrors.internal())
    else if (fault === 503) {
      ctx.counters.rateLimited += 1
      answer = errorAnswer(restErrors.queryLimit())
    } else {
      answer = await execute(ctx, env, ctx.findPortal(memberId), method, params, auth, call)
    }
    call.status = answer.status
    if (typeof answer.body['error'] === 'string') call.error = answer.body['error']

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
