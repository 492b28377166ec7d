/**
 * TikTok outages on purpose, so the app's retries (the Events API outbox above all) can be
 * tested across one. A rule matches every API endpoint or one (`'event/track'`), and either
 * lasts until cleared (`outage`) or for the next n calls (`failNext`). Rules added later win.
 *
 * Kinds: 500/503 an HTTP error with a text body and no envelope, nothing processed;
 * 'system-error' HTTP 200 with envelope code 50000, nothing processed; 'reset' the socket is
 * destroyed before anything runs; 'reset-after-processing' the call runs (events are recorded),
 * then the socket is destroyed, so the client cannot know it landed: the case that makes a
 * resend, and TikTok's deduplication, matter.
 * [INFERRED] what TikTok's gateway sends when it is down; no source shows one.
 */
import type { TikTokFaultKind, TikTokFaults } from './types.js'

interface Rule {
  kind: TikTokFaultKind
  endpoint: string | undefined
  /** Calls left; Infinity for an outage. */
  remaining: number
}

export class FaultSwitch implements TikTokFaults {
  private rules: Rule[] = []

  outage(kind: TikTokFaultKind, opts: { endpoint?: string } = {}): void {
    this.rules.push({ kind, endpoint: normalise(opts.endpoint), remaining: Number.POSITIVE_INFINITY })
  }

  failNext(n: number, kind: TikTokFaultKind, opts: { endpoint?: string } = {}): void {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`tiktok emulator: failNext needs a positive integer, got ${n}`)
    this.rules.push({ kind, endpoint: normalise(opts.endpoint), remaining: n })
  }

  clear(): void {
    this.rules = []
  }

  /** The fault for this call of `endpoint` (e.g. `event/track`), if any; uses up one call of a failNext rule. */
  take(endpoint: string): TikTokFaultKind | undefined {
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const rule = this.rules[i] as Rule
      if (rule.endpoint !== undefined && rule.endpoint !== endpoint) continue
      rule.remaining--
      if (rule.remaining <= 0) this.rules.splice(i, 1)
      return rule.kind
    }
    return undefined
  }
}

/** `event/track`, `/open_api/v1.3/event/track/` and `event/track/` all name the same endpoint. */
function normalise(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined) return undefined
  return endpoint.replace(/^\/?open_api\/v1\.3\//, '').replace(/^\/+|\/+$/g, '')
}
