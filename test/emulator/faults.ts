/**
 * Fault injection for REST calls and the OAuth server.
 *
 * failNext(n, kind, {method, memberId}) makes the next n matching REST requests fail:
 * - 500: INTERNAL_SERVER_ERROR, nothing processed.
 * - 503: QUERY_LIMIT_EXCEEDED, nothing processed.
 * - 'timeout': no answer at all (the socket is held until the client gives up or the emulator
 *   closes), nothing processed.
 * - 'timeout-after-processing': the call runs (leads get created), then no answer.
 * - 'reset': the call runs, then the socket is destroyed.
 * - 'cut-mid-batch': the batch starts; the socket is destroyed once about half its commands have
 *   run, and the rest keep running on the portal until done (no answer reaches the client).
 * - 'http-404': 404 with a small text/html page and no JSON error code (a wrong endpoint or a
 *   proxy's page), nothing processed.
 * Rules are consumed in the order they were added.
 *
 * failCommands(n, code, {method, memberId}) makes the next n matching commands inside a batch
 * fail on their own: not executed, `result_error[key] = {error: code, error_description}`
 * (QUERY_LIMIT_EXCEEDED, OPERATION_TIME_LIMIT, ERROR_CORE, INTERNAL_SERVER_ERROR).
 * @see settings/how-to-call-rest-api/batch.md "Error Handling", settings/performance/limits.md
 */
import type { EventFaults, FaultKind, Faults, RefreshFault } from './types/faults.js'

interface CommandRule {
  remaining: number
  code: string
  method?: string
  memberId?: string
}

interface Rule {
  remaining: number
  kind: FaultKind
  method?: string
  memberId?: string
}

export class FaultController implements Faults {
  latencyMs = 0
  refreshFails: RefreshFault = false
  events: EventFaults = { loseNext: 0, delayMs: 0, reorder: false }
  private rules: Rule[] = []
  private commandRules: CommandRule[] = []

  constructor(private readonly expireTokens: () => void) {}

  failNext(n: number, kind: FaultKind, opts: { method?: string; memberId?: string } = {}): void {
    if (!Number.isInteger(n) || n <= 0) return
    this.rules.push({
      remaining: n,
      kind,
      ...(opts.method !== undefined ? { method: opts.method.toLowerCase() } : {}),
      ...(opts.memberId !== undefined ? { memberId: opts.memberId } : {}),
    })
  }

  failCommands(n: number, code: string, opts: { method?: string; memberId?: string } = {}): void {
    if (!Number.isInteger(n) || n <= 0 || typeof code !== 'string' || code === '') return
    this.commandRules.push({
      remaining: n,
      code,
      ...(opts.method !== undefined ? { method: opts.method.toLowerCase() } : {}),
      ...(opts.memberId !== undefined ? { memberId: opts.memberId } : {}),
    })
  }

  /** The error code for this batch command, if a failCommands rule matches; consumes one use. */
  takeCommand(method: string, memberId: string): string | undefined {
    const hit = consume(this.commandRules, method, memberId)
    this.commandRules = hit.rules
    return hit.rule?.code
  }

  expireAllTokens(): void {
    this.expireTokens()
  }

  clear(): void {
    this.rules = []
    this.commandRules = []
    this.latencyMs = 0
    this.refreshFails = false
    this.events = { loseNext: 0, delayMs: 0, reorder: false }
  }

  /** The fault for this request, if a rule matches; consumes one use of it. */
  take(method: string, memberId: string): FaultKind | undefined {
    const hit = consume(this.rules, method, memberId)
    this.rules = hit.rules
    return hit.rule?.kind
  }
}

/** The first rule matching this call, with one use taken; used-up rules leave the list. */
function consume<R extends { remaining: number; method?: string; memberId?: string }>(
  rules: R[],
  method: string,
  memberId: string,
): { rule: R | undefined; rules: R[] } {
  const rule = rules.find(
    (r) =>
      r.remaining > 0 &&
      (r.method === undefined || r.method === method) &&
      (r.memberId === undefined || r.memberId === memberId),
  )
  if (!rule) return { rule, rules }
  rule.remaining -= 1
  return { rule, rules: rules.filter((r) => r.remaining > 0) }
}
