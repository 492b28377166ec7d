/**
 * How a REST method is declared and invoked. A method names the scope it needs (null: the
 * `basic` scope every app has) and returns its result, plus `total`/`next` for list methods.
 * It fails by throwing a RestError.
 */
import { RestError, restErrors } from '../rest-error.js'
import type { PhpMap } from '../php-query.js'
import type { PortalState } from '../state.js'
import type { RecordedCall } from '../types/records.js'

export interface MethodResult {
  result: unknown
  total?: number
  next?: number
}

export interface MethodEnv {
  now(): number
  clientId: string
  /** Fire-and-forget delivery of a portal event to the app's bound handlers. */
  emitEvent(portal: PortalState, event: string, data: Record<string, unknown>, userId: number): void
  /** Runs one method as part of the current request (used by batch). */
  dispatch(ctx: CallContext, method: string, params: PhpMap): Promise<Outcome>
  record(call: RecordedCall): void
  /** A method's operating-limit status on this portal (each batch command's result_time). */
  operatingStatus?(portal: PortalState, method: string): { operating: number; operating_reset_at: number }
  /** True once the request ran past the execution time limit: a batch starts no more commands. */
  interrupted?(): boolean
}

export interface CallContext {
  portal: PortalState
  userId: number
  scopes: ReadonlySet<string>
  params: PhpMap
  inBatch: boolean
  env: MethodEnv
}

export interface MethodDef {
  /** Required scope; null for `basic`. A list means any of them. */
  scope: string | string[] | null
  handler(ctx: CallContext): MethodResult | Promise<MethodResult>
}

export type MethodTable = Record<string, MethodDef>

export type Outcome = ({ ok: true } & MethodResult) | { ok: false; error: RestError }

function hasScope(scopes: ReadonlySet<string>, need: MethodDef['scope']): boolean {
  if (need === null) return true
  const list = Array.isArray(need) ? need : [need]
  return list.some((s) => scopes.has(s))
}

/** Method lookup, scope check and invocation; never throws. */
export async function invoke(table: MethodTable, ctx: CallContext, method: string): Promise<Outcome> {
  const def = Object.hasOwn(table, method) ? table[method] : undefined
  if (!def) return { ok: false, error: restErrors.methodNotFound() }
  if (!hasScope(ctx.scopes, def.scope)) return { ok: false, error: restErrors.insufficientScope() }
  try {
    const out = await def.handler(ctx)
    return { ok: true, ...out }
  } catch (err) {
    if (err instanceof RestError) return { ok: false, error: err }
    // An emulator bug surfaces like a portal crash would, but loudly in the test output.
    console.error('[b24-emulator] method %s crashed:', method, err)
    return { ok: false, error: restErrors.internal() }
  }
}

/** Reads a parameter the way Bitrix24's CRM proxies do: the given case, then upper, then lower. */
export function param(params: PhpMap, name: string): unknown {
  if (Object.hasOwn(params, name)) return params[name]
  const upper = name.toUpperCase()
  if (Object.hasOwn(params, upper)) return params[upper]
  const lower = name.toLowerCase()
  if (Object.hasOwn(params, lower)) return params[lower]
  return undefined
}

export function toInt(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value
  if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return Number.parseInt(value, 10)
  return undefined
}
