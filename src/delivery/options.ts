import { MAX_REQUEST_S, OPERATING_BASKET_MS, OPERATING_LIMIT_S } from '../bitrix24/limits.js'
import type { Clock } from '../clock.js'
import type { BackoffOptions } from './backoff.js'
import { OperatingBudget } from './operating.js'

export interface DispatcherOptions {
  /** commands per `batch` call; Bitrix24 allows at most MAX_BATCH_COMMANDS (50) */
  batchSize: number
  /** batches a portal may have in flight at once (each still starts through the portal's queue) */
  concurrency: number
  /** how long after an unknown outcome (timeout, reset, 5xx) we wait before asking Bitrix24 what happened */
  reconcileAfterMs: number
  /**
   * How long a request may still be executing on the portal after it was sent: max(our timeout,
   * Bitrix24's own cutoff). A lead of an unknown-outcome batch is looked up no earlier than its
   * send start + this + a margin, so the look-up never races a batch that is still running.
   * @see https://apidocs.bitrix24.com/settings/performance/limits.html
   */
  requestMayRunMs?: number
  /** keep each method's operating time (server seconds in Bitrix24's 10-minute window) under this; 480 is Bitrix24's limit */
  operatingLimitSec?: number
  /** one of the window's baskets, ms (60 s on Bitrix24): the wait after a refusal when no reset time is known */
  operatingBasketMs?: number
  backoff: BackoffOptions
  /** ORIGINATOR_ID written on every lead: with ORIGIN_ID it is how a sent lead is found again */
  originatorId: string
  /** how old the stored CRM mode (crm.settings.mode.get) may be before a delivery asks again; default 10 min */
  crmModeMaxAgeMs?: number
}

/**
 * How long after its send start a lead left `sending` is looked up: once the request cannot be
 * running any more (plus a margin for clocks and the answer in transit), and never sooner than
 * `reconcileAfterMs`.
 */
export function reconcileWaitOf(options: DispatcherOptions): number {
  const mayRun = options.requestMayRunMs ?? 0
  return Math.max(options.reconcileAfterMs, mayRun ? mayRun + Math.max(1000, mayRun / 10) : 0)
}

/**
 * The portals' operating budgets. operating_reset_at is whole seconds: wait one more so the basket
 * has really left; a batch with no answer counts against the budget for as long as it may still be
 * running.
 */
export function operatingBudgetOf(options: DispatcherOptions, clock: Clock): OperatingBudget {
  const mayRun = options.requestMayRunMs ?? 0
  return new OperatingBudget(
    {
      limitSec: options.operatingLimitSec ?? OPERATING_LIMIT_S,
      basketMs: options.operatingBasketMs ?? OPERATING_BASKET_MS,
      resetSlackMs: 1000,
      pendingTtlMs: (mayRun || MAX_REQUEST_S * 1000) + 1000,
    },
    () => clock.now(),
  )
}
