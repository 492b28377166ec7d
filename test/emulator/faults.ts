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
 * Rules are consumed in the order they were added.
 */
import type { EventFaults, FaultKind, Faults, RefreshFault } from './types.js'

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

  expireAllTokens(): void {
    this.expireTokens()
  }

  clear(): void {
    this.rules = []
    this.latencyMs = 0
    this.refreshFails = false
    this.events = { loseNext: 0, delayMs: 0, reorder: false }
  }

  /** The fault for this request, if a rule matches; consumes one use of it. */
  take(method: string, memberId: string): FaultKind | undefined {
    const rule = this.rules.find(
      (r) =>
        r.remaining > 0 &&
        (r.method === undefined || r.method === method) &&
        (r.memberId === undefined || r.memberId === memberId),
    )
    if (!rule) return undefined
    rule.remaining -= 1
    this.rules = this.rules.filter((r) => r.remaining > 0)
    return rule.kind
  }
}
