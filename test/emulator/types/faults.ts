/** What tests can break on purpose: REST answers, batch commands, token refresh, event delivery. */

/**
 * What `faults.failNext` does to a request (faults.ts): 500/503 nothing run; 'timeout' no answer,
 * nothing run; 'timeout-after-processing' / 'reset' run, then no answer / socket destroyed;
 * 'cut-mid-batch' socket destroyed after about half the batch's commands, the rest still run;
 * 'http-404' an HTML 404 page without a JSON error code, nothing run.
 */
export type FaultKind = 500 | 503 | 'timeout' | 'reset' | 'timeout-after-processing' | 'cut-mid-batch' | 'http-404'

/** Codes `faults.failCommands` puts in a batch command's result_error. */
export type CommandFaultCode = 'QUERY_LIMIT_EXCEEDED' | 'OPERATION_TIME_LIMIT' | 'ERROR_CORE' | 'INTERNAL_SERVER_ERROR'

export type RefreshFault = false | 'invalid_grant' | 'portal_deleted' | 500

export interface Faults {
  failNext(n: number, kind: FaultKind, opts?: { method?: string; memberId?: string }): void
  /**
   * The next n matching commands inside a batch are not executed and get
   * `result_error[key] = {error: code, error_description}`.
   */
  failCommands(n: number, code: CommandFaultCode | string, opts?: { method?: string; memberId?: string }): void
  /** Added to every REST reply. */
  latencyMs: number
  /** Every access token issued so far is now expired (expired_token on use). */
  expireAllTokens(): void
  /** Makes `/oauth/token/` fail. */
  refreshFails: RefreshFault
  /** Event delivery faults (events are queued, may be late, are never retried). */
  events: EventFaults
  clear(): void
}

/**
 * Faults of outbound event delivery. Events are queued on the portal, may arrive late or out of
 * order, and a lost one is never retried. @see events/index.md, api-reference/events/index.md
 */
export interface EventFaults {
  /** The next n event POSTs are never sent (status 0, body 'lost'). */
  loseNext: number
  /** Every event POST waits this long before it goes out. */
  delayMs: number
  /** Each event is held back and sent right after the next one (pairs swap order). */
  reorder: boolean
}
