import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from '../clock.js'
import type { DueEvent, QualityRepository } from '../db/repositories/quality.js'
import { MATCH_WINDOW_S } from '../db/repositories/quality.js'
import type { TikTokConnection } from '../db/schema.js'
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from '../delivery/backoff.js'
import { TikTokApiError } from '../errors.js'
import { type CrmEvent, type EventsApi, MAX_EVENTS_PER_REQUEST } from '../tiktok-business/events-api.js'
import { hashedUser } from './user-data.js'

/**
 * The TikTok event outbox's worker. Each pass takes the due pending events, groups them by event
 * set (one advertiser, one token) and sends up to 1,000 a request to /event/track/.
 *
 * Exactly once as TikTok counts: TikTok deduplicates on event_source_id + event_id + event, the
 * outbox's own unique key, so a resend of an event is the same event. That makes every unknown
 * outcome (a timeout, a reset, a 5xx, a crash between the send and the mark) safe to resend, and
 * the worker never needs an in-flight state: a row stays pending until TikTok said code 0.
 * - TikTok refused the request (bad_request): a batch is split and each event sent alone, so one
 *   wrong event cannot hold the others; an event refused alone is `failed` with TikTok's reason.
 * - Anything else (network, 5xx, throttled after the transport's retries, token revoked, ad account
 *   disconnected): pending, retried with backoff (delivery/backoff.ts, no last attempt), the reason
 *   kept for the delivery log, until TikTok takes it or it passes TikTok's 28-day window (then
 *   `too_old`: TikTok would not match it any more).
 * @see https://business-api.tiktok.com/portal/docs (Events API 2.0: deduplication, 1,000 events a request)
 */

export interface OutboxDeps {
  repo: QualityRepository
  /** null: TikTok is not configured on this server (events stay pending) */
  events: EventsApi | null
  connection(advertiserId: string): Promise<TikTokConnection | undefined>
  openToken(sealed: string): string
  log: FastifyBaseLogger
  clock: Pick<Clock, 'now'>
  backoff?: BackoffOptions
}

/** Events a pass reads at most; the next pass takes the rest. */
const PASS_LIMIT = 5000

export interface PassResult {
  sent: number
  retried: number
  failed: number
  tooOld: number
}

export function createOutbox(deps: OutboxDeps) {
  const backoff = deps.backoff ?? DEFAULT_BACKOFF
  const now = () => deps.clock.now()

  const retryAt = (rows: DueEvent[]) => {
    // One delay for the group, from its most-tried row: they failed together.
    const attempts = Math.max(...rows.map((r) => r.attempts)) + 1
    return now() + backoffDelay(attempts, backoff)
  }

  const toEvent = (r: DueEvent): CrmEvent => ({
    event: r.event,
    eventTime: r.event_time,
    eventId: r.event_id,
    leadId: r.tiktok_lead_id,
    ...hashedUser(r.lead_json, r.default_country),
  })

  async function retry(rows: DueEvent[], error: string, out: PassResult): Promise<void> {
    await deps.repo.markRetry(
      rows.map((r) => r.id),
      error,
      retryAt(rows),
    )
    out.retried += rows.length
  }

  /** One request; on a refusal of a batch, each event alone. */
  async function send(token: string, eventSetId: string, rows: DueEvent[], out: PassResult): Promise<void> {
    const events = deps.events
    if (!events) return retry(rows, 'TikTok is not configured on this server', out)
    try {
      await events.track(token, eventSetId, rows.map(toEvent))
      await deps.repo.markSent(
        rows.map((r) => r.id),
        now(),
      )
      out.sent += rows.length
    } catch (err) {
      if (err instanceof TikTokApiError && err.kind === 'bad_request') {
        if (rows.length > 1) {
          for (const r of rows) await send(token, eventSetId, [r], out)
          return
        }
        await deps.repo.markFailed(
          rows.map((r) => r.id),
          err.message,
        )
        out.failed += rows.length
        deps.log.warn({ eventSetId, code: err.code, outboxId: rows[0]?.id }, 'TikTok refused a CRM event')
        return
      }
      const message = err instanceof Error ? err.message : String(err)
      deps.log.warn(
        { eventSetId, events: rows.length, code: err instanceof TikTokApiError ? err.code : undefined },
        'CRM events not sent to TikTok, retrying later',
      )
      await retry(rows, message, out)
    }
  }

  async function sendGroup(advertiserId: string, eventSetId: string, rows: DueEvent[], out: PassResult) {
    const conn = await deps.connection(advertiserId)
    if (!conn || conn.member_id !== rows[0]?.member_id)
      return retry(rows, 'the TikTok ad account is not connected to this portal any more: connect it again', out)
    if (conn.status === 'token_invalid')
      return retry(rows, 'TikTok no longer accepts the ad account’s token: connect the ad account again', out)
    let token: string
    try {
      token = deps.openToken(conn.token_sealed)
    } catch {
      return retry(rows, 'the stored TikTok token cannot be read: connect the ad account again', out)
    }
    for (let i = 0; i < rows.length; i += MAX_EVENTS_PER_REQUEST)
      await send(token, eventSetId, rows.slice(i, i + MAX_EVENTS_PER_REQUEST), out)
  }

  /** One pass over the due events. */
  async function pass(): Promise<PassResult> {
    const out: PassResult = { sent: 0, retried: 0, failed: 0, tooOld: 0 }
    const rows = await deps.repo.due(now(), PASS_LIMIT)
    if (rows.length === 0) return out
    const nowS = Math.floor(now() / 1000)
    const old = rows.filter((r) => nowS - r.event_time > MATCH_WINDOW_S)
    if (old.length) {
      await deps.repo.markTooOld(
        old.map((r) => r.id),
        'not sent within the 28 days TikTok matches: given up',
      )
      out.tooOld += old.length
      deps.log.warn({ events: old.length }, 'CRM events passed TikTok’s 28-day window unsent')
    }
    const groups = new Map<string, DueEvent[]>()
    for (const r of rows) {
      if (nowS - r.event_time > MATCH_WINDOW_S) continue
      const key = JSON.stringify([r.advertiser_id, r.event_set_id])
      const list = groups.get(key) ?? []
      list.push(r)
      groups.set(key, list)
    }
    for (const [key, list] of groups) {
      const [advertiserId, eventSetId] = JSON.parse(key) as [string, string]
      await sendGroup(advertiserId, eventSetId, list, out)
    }
    return out
  }

  return { pass }
}

export type Outbox = ReturnType<typeof createOutbox>
