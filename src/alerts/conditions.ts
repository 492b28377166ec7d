import type { AlertRepository } from '../db/repositories/alerts.js'
import type { TikTokRepository } from '../db/repositories/tiktok.js'
import type { TikTokConnection } from '../db/schema.js'
import type { AlertKind } from './kinds.js'
import type { AlertDetail } from './messages.js'

export interface Condition {
  kind: AlertKind
  /** null: the condition does not hold */
  detail: AlertDetail | null
}

const HOUR_MS = 3_600_000
const WEEK_MS = 7 * 24 * HOUR_MS
/** "Normally has leads": the same weekday-hours window had leads in at least this many of the last WEEKS weeks. */
export const SILENCE_WEEKS = 4
export const SILENCE_MIN_WEEKS = 3

/**
 * A connection TikTok no longer serves: its token was revoked or expired, the connected user lost
 * the ad account, or TikTok refused the subscription (the health check's outcomes, health.ts).
 * "unreachable" (TikTok did not answer) is not a loss: it is tried again and leads are kept.
 */
export function isLost(conn: Pick<TikTokConnection, 'status' | 'status_reason'>): boolean {
  return (
    conn.status === 'token_invalid' ||
    conn.status === 'subscription_lost' ||
    (conn.status === 'error' && conn.status_reason === 'lost_access')
  )
}

export async function tiktokLost(tiktok: TikTokRepository, memberId: string): Promise<Condition> {
  const lost = (await tiktok.listConnections(memberId)).filter(isLost)
  if (lost.length === 0) return { kind: 'tiktok_lost', detail: null }
  const names = lost.map((c) => `"${c.advertiser_name}"`).join(', ')
  const why = [
    ...new Set(lost.map((c) => (c.status === 'error' ? 'no access to the ad account' : (c.status_reason ?? c.status)))),
  ].join('; ')
  return { kind: 'tiktok_lost', detail: { names, why } }
}

/** What the failing-leads condition reads: the per-portal lead counts the app keeps in memory. */
export interface FailedCounts {
  get(memberId: string): { readonly failed: number } | undefined
}

/**
 * Leads in `failed` (given up on, or refused by Bitrix24): one alert for the whole burst, until none
 * is left. The number is the in-memory lead counts' (app.leadCounts: seeded by one grouped count at
 * start, then told of every status change the lead repository writes), so the check that runs every
 * minute per portal counts nothing; only a portal with failed leads reads the latest one's error.
 */
export async function leadsFailing(repo: AlertRepository, counts: FailedCounts, memberId: string): Promise<Condition> {
  const n = counts.get(memberId)?.failed ?? 0
  if (n === 0) return { kind: 'leads_failing', detail: null }
  return { kind: 'leads_failing', detail: { n, error: (await repo.lastFailedError(memberId)) ?? 'unknown' } }
}

/**
 * No real lead for `hours` while the same window of the week (the last `hours` hours, shifted by
 * whole weeks) had leads in most of the last four weeks. Off (null) unless the portal set
 * alert_silence_hours. It starts only in such a window and ends only when a lead arrives, so a
 * quiet night after a silent evening does not tell the admins "leads are back".
 */
export async function leadSilence(
  repo: AlertRepository,
  memberId: string,
  hours: number | null,
  now: number,
  wasActive: boolean,
): Promise<Condition> {
  const off = { kind: 'lead_silence' as const, detail: null }
  if (!hours || hours <= 0) return off
  const span = hours * HOUR_MS
  const last = await repo.lastLeadAt(memberId)
  if (last === null || last >= now - span) return off
  if (wasActive) return { kind: 'lead_silence', detail: { hours } }
  let weeks = 0
  for (let k = 1; k <= SILENCE_WEEKS; k++)
    if (await repo.anyLeadBetween(memberId, now - span - k * WEEK_MS, now - k * WEEK_MS)) weeks += 1
  return { kind: 'lead_silence', detail: weeks >= SILENCE_MIN_WEEKS ? { hours } : null }
}
