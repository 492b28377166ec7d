/**
 * batch: up to 50 sub-commands `method?php-query` in one request (one tick of the rate limit).
 *
 * - `cmd` is a map or a list; every result field (result, result_error, result_total,
 *   result_next, result_time) is keyed like `cmd` and printed as PHP prints arrays: a JSON list
 *   when the keys are 0..n-1 (so an empty one is `[]`), an object otherwise.
 * - Commands past the 50th are not run; each gets ERROR_BATCH_LENGTH_EXCEEDED in result_error.
 * - halt=1 stops at the first failing command; halt=0 (default) runs them all.
 * - `$result[key][FIELD]…` (also $result_total, $result_next, $result_error, $result_time) in a
 *   parameter value is replaced by an earlier command's output.
 * - A nested batch is ERROR_BATCH_METHOD_NOT_ALLOWED.
 * - Each command counts against its own method's operating limit; one over it gets
 *   OPERATION_TIME_LIMIT in result_error and is not run (rest-execute.ts wraps `dispatch`); its
 *   result_time carries that method's `operating` / `operating_reset_at`.
 * - A request past the execution time limit (limits.md: 60 s) starts no more commands.
 * The batch itself answers 200 whatever its commands did.
 * @see settings/how-to-call-rest-api/batch.md
 */
import { timeBlock } from '../envelope.js'
import { isPlainObject, parsePhpQuery, phpEntries, phpFlag, toPhpJson, type PhpMap } from '../php-query.js'
import { restErrors } from '../rest-error.js'
import { param, type CallContext, type MethodResult, type MethodTable } from './registry.js'

export const MAX_BATCH_COMMANDS = 50

type Lane = 'result' | 'result_error' | 'result_total' | 'result_next' | 'result_time'

const REFERENCE = /\$(result_error|result_total|result_next|result_time|result)((?:\[[^\]]*\])+)/g

function lookup(
  lanes: Record<Lane, Map<string, unknown>>,
  lane: Lane,
  path: string,
): { found: boolean; value: unknown } {
  const segments = [...path.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1] ?? '')
  const [head, ...rest] = segments
  if (head === undefined || !lanes[lane].has(head)) return { found: false, value: undefined }
  let value: unknown = lanes[lane].get(head)
  for (const segment of rest) {
    if (Array.isArray(value)) value = value[Number(segment)]
    else if (isPlainObject(value)) value = value[segment]
    else return { found: false, value: undefined }
    if (value === undefined) return { found: false, value: undefined }
  }
  return { found: true, value }
}

function substitute(value: unknown, lanes: Record<Lane, Map<string, unknown>>): unknown {
  if (typeof value === 'string') {
    const whole = /^\$(result_error|result_total|result_next|result_time|result)((?:\[[^\]]*\])+)$/.exec(value)
    if (whole) {
      const hit = lookup(lanes, whole[1] as Lane, whole[2] ?? '')
      return hit.found ? hit.value : value
    }
    return value.replace(REFERENCE, (text, lane: string, path: string) => {
      const hit = lookup(lanes, lane as Lane, path)
      if (!hit.found) return text
      return typeof hit.value === 'object' ? JSON.stringify(hit.value) : String(hit.value)
    })
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, lanes))
  if (isPlainObject(value)) {
    const out: PhpMap = {}
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, lanes)
    return out
  }
  return value
}

function splitCommand(command: string): { method: string; query: string } {
  const q = command.indexOf('?')
  const method = (q < 0 ? command : command.slice(0, q)).trim().toLowerCase()
  return { method, query: q < 0 ? '' : command.slice(q + 1) }
}

async function batch(ctx: CallContext): Promise<MethodResult> {
  const commands = phpEntries(param(ctx.params, 'cmd')) ?? []
  const halt = phpFlag(param(ctx.params, 'halt'))
  const lanes: Record<Lane, Map<string, unknown>> = {
    result: new Map(),
    result_error: new Map(),
    result_total: new Map(),
    result_next: new Map(),
    result_time: new Map(),
  }
  let position = 0
  for (const [key, raw] of commands) {
    position += 1
    if (ctx.env.interrupted?.() === true) break
    const { method, query } = splitCommand(typeof raw === 'string' ? raw : '')
    if (position > MAX_BATCH_COMMANDS) {
      lanes.result_error.set(key, restErrors.batchLength().body())
      if (halt) break
      continue
    }
    const started = ctx.env.now()
    const parsed = parsePhpQuery(query)
    delete parsed['auth']
    const params = substitute(parsed, lanes) as PhpMap
    const outcome =
      method === 'batch'
        ? ({ ok: false, error: restErrors.batchMethodNotAllowed() } as const)
        : await ctx.env.dispatch({ ...ctx, params, inBatch: true }, method, params)
    const finished = ctx.env.now()
    ctx.env.record({
      at: started,
      memberId: ctx.portal.memberId,
      method,
      params,
      status: outcome.ok ? 200 : outcome.error.status,
      ...(outcome.ok ? {} : { error: outcome.error.code }),
      inBatch: true,
      userId: ctx.userId,
    })
    if (!outcome.ok) {
      lanes.result_error.set(key, outcome.error.body())
      if (halt) break
      continue
    }
    // Only commands that succeeded get a time entry (the docs' error examples show result_time: []).
    lanes.result.set(key, outcome.result)
    lanes.result_time.set(key, timeBlock(started, finished, ctx.env.operatingStatus?.(ctx.portal, method)))
    if (outcome.total !== undefined) lanes.result_total.set(key, outcome.total)
    if (outcome.next !== undefined) lanes.result_next.set(key, outcome.next)
  }
  const print = (lane: Lane) => toPhpJson([...lanes[lane].entries()])
  return {
    result: {
      result: print('result'),
      result_error: print('result_error'),
      result_total: print('result_total'),
      result_next: print('result_next'),
      result_time: print('result_time'),
    },
  }
}

export const batchMethods: MethodTable = {
  batch: { scope: null, handler: batch },
}
