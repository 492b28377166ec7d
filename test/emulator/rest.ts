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
import { phpEntries } from './php-query.js'
import { restErrors } from './rest-error.js'
import { errorAnswer, execute, methodEnv, type Answer, type RequestRun } from './rest-execute.js'
import { normalizeMethod, requestParams } from './rest-params.js'
import type { RecordedCall } from './types/records.js'

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
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
