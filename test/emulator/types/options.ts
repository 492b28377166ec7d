/** How an emulator is configured: `buildEmulator(options)` and `setOperating`. */

export interface EmulatorOptions {
  /** The registered app's OAuth client. Default `local.test.app`. */
  clientId?: string
  /** Default `test-secret`. */
  clientSecret?: string
  /** Scopes granted to the app. Default `crm,placement,user_brief`. */
  scope?: string
  /** Access token lifetime. Default 3600. */
  tokenTtlSec?: number
  /**
   * Refresh token lifetime. Default 180 days: the OAuth docs give 180 days, not 28.
   * @see settings/oauth/auto-renewal.md (b24restdocs)
   */
  refreshTtlSec?: number
  /** Leaky bucket drain per second. Default 2 (enterprise plan: 5). */
  drainRate?: number
  /** Bucket size. Default 50 (enterprise plan: 250). */
  burst?: number
  /** ms clock; tests inject one to make expiry and the bucket deterministic. Default Date.now. */
  now?: () => number
  /** fastify logger. Default false. */
  logger?: boolean
  /** Timeout of the emulator's own outbound POSTs (install, placement, events). Default 10000. */
  outboundTimeoutMs?: number
  /** The operating limit and the server time each call costs (see operating.ts). */
  operating?: OperatingOptions
}

/**
 * The operating limit: per portal, per app, per method, ten baskets of `basketSec`.
 * @see settings/performance/limits.md "Resource Intensity Limits"
 */
export interface OperatingOptions {
  /** The limit on a method's accumulated time, seconds. Default 480. */
  limitSec?: number
  /** One basket's length, seconds; ten baskets are the window. Default 60. */
  basketSec?: number
  /**
   * Per lower-case method: [min, max] seconds of server time per call, uniform jitter.
   * Default `{ 'crm.lead.add': [0.1, 0.5] }`, and [0.005, 0.02] for any other method.
   */
  costSec?: Record<string, [number, number]>
  /** true: a request really takes its cost in wall time (a batch: the sum). Default false. */
  realTime?: boolean
  /** A request costing more is interrupted by timeout (limits.md: 60 s). Default 60. */
  maxRequestSec?: number
}

export type Plan = 'free' | 'pro' | 'enterprise'
