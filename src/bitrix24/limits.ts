/**
 * Every limit Bitrix24 puts on a REST app, in one place (as b24jssdk keeps its numbers in one
 * `ParamsFactory`). Code that paces, sizes or waits imports these instead of writing the number.
 * @see https://apidocs.bitrix24.com/limits.html
 * @see https://apidocs.bitrix24.com/settings/performance/limits.html
 */

/**
 * Requests per second a portal's leaky bucket drains: 2, or 5 on Enterprise plans (the settings
 * tab offers exactly these two).
 * @see https://apidocs.bitrix24.com/limits.html
 */
export const DEFAULT_RATE_PER_S = 2
export const ENTERPRISE_RATE_PER_S = 5
export const RATES_PER_S = [DEFAULT_RATE_PER_S, ENTERPRISE_RATE_PER_S] as const
export type RatePerSecond = (typeof RATES_PER_S)[number]

/** The rolling window the drain rate is counted in, ms. */
export const RATE_WINDOW_MS = 1000

/**
 * The bucket's size: past it the request gets HTTP 503 QUERY_LIMIT_EXCEEDED. 50 at 2/s, 250 at
 * 5/s: 25 seconds of drain either way (b24jssdk's getDefault()/getEnterprise()).
 * @see https://apidocs.bitrix24.com/limits.html
 */
export function burstLimit(ratePerSec: number): number {
  return ratePerSec * 25
}

/**
 * How long to hold a portal's requests after QUERY_LIMIT_EXCEEDED: long enough for the bucket to
 * drain a few slots (our choice, not Bitrix24's number; it follows from the drain rate).
 */
export const RATE_LIMIT_PAUSE_MS = 2000

/**
 * Commands one `batch` may carry; the batch counts once against the rate.
 * @see https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html
 */
export const MAX_BATCH_COMMANDS = 50
/** Leads per batch in simple CRM mode: a contact and a deal command per lead. */
export const SIMPLE_BATCH_SIZE = MAX_BATCH_COMMANDS / 2
/** Leads per batch when deduplicating: each lead needs up to two look-ups (phone, e-mail). */
export const DEDUP_BATCH_SIZE = MAX_BATCH_COMMANDS / 2

/**
 * Leads per batch when each lead takes `commandsPerLead` commands: its own (two in simple mode)
 * plus the speed-to-lead notification and to-do riding after it (src/delivery/lead-commands.ts).
 * The 50 commands are shared, so the leads per batch shrink, 50 / (1 + extras), rather than the
 * extras going in a request of their own: a batch counts once against the portal's rate, so they
 * then cost no request at all, and each extra can reference its lead's new id (`$result[...]`).
 * Even at 12 leads per batch the rate allows 24 leads/s, above what the operating limit lets a
 * portal sustain (limits.md), so the smaller batches slow nothing down.
 * @see https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html
 */
export function leadsPerBatch(commandsPerLead: number): number {
  return Math.max(1, Math.floor(MAX_BATCH_COMMANDS / Math.max(1, Math.ceil(commandsPerLead))))
}

/**
 * The operating limit: each method's server time per app per portal, summed over ten one-minute
 * baskets; past 480 s in the window the method answers 429 OPERATION_TIME_LIMIT (other methods
 * still work). A basket leaves the sum 10 minutes after its first call.
 * @see https://apidocs.bitrix24.com/settings/performance/limits.html "Resource Intensity Limits"
 */
export const OPERATING_LIMIT_S = 480
export const OPERATING_BASKET_MS = 60_000
export const OPERATING_WINDOW_MS = 10 * OPERATING_BASKET_MS

/**
 * One REST request must finish within 60 s or Bitrix24 cuts it off: a request whose answer was
 * lost can still be executing until then.
 * @see https://apidocs.bitrix24.com/limits.html
 */
export const MAX_REQUEST_S = 60

/**
 * Records per `event.offline.get` (its default and a list page).
 * @see https://apidocs.bitrix24.com/api-reference/events/event-offline-get.html
 */
export const OFFLINE_EVENTS_PER_CALL = 50
