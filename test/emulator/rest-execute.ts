/**
 * One REST call after fault injection: auth → leaky bucket → operating limit → method →
 * envelope. Each executed call (a batch command or the direct call) is charged to the operating
 * limit and to the request's time; `rest.ts` decides what the client gets to see.
 * @see settings/how-to-call-rest-api/authorization.md, _includes/system-errors.md
 * @see settings/performance/limits.md "Request Execution Time Limit", "Resource Intensity Limits"
 */
import type { EmulatorContext } from './context.js'
import { timeBlock } from './envelope.js'
import { emitEvent } from './event-delivery.js'
import { METHODS } from './methods/index.js'
import { invoke, type CallContext, type MethodEnv, type Outcome } from './methods/registry.js'
import { operationTimeLimit } from './operating.js'
import type { PhpMap } from './php-query.js'
import { RestError, restErrors } from './rest-error.js'
import type { PortalState } from './state.js'
import type { RecordedCall } from './types/records.js'

export interface Answer {
  status: number
  body: Record<string, unknown>
}

export function errorAnswer(err: RestError): Answer {
  return { status: err.status, body: err.body() }
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
export interface RequestRun {
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

export async function execute(
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
