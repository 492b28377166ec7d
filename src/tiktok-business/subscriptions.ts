import type { FastifyBaseLogger } from 'fastify'
import type { TikTokRepository } from '../db/repositories/tiktok.js'
import type { TikTokConnection, TikTokForm } from '../db/schema.js'
import { TikTokApiError } from '../errors.js'
import type { TikTokApi } from './api-client.js'
import type { Clock } from '../clock.js'

/**
 * Keeps TikTok's LEAD subscriptions for one connection equal to what the admin chose: one
 * advertiser-wide subscription for "all forms", else one per selected form. New subscriptions are
 * made before old ones are cancelled, so a change never leaves a gap (a lead pushed twice meanwhile
 * is stored once: intake dedupes on the TikTok lead id). Cancelling goes through a durable outbox.
 * @see https://business-api.tiktok.com/portal/docs (subscription/subscribe; a page can be in several subscriptions)
 */
export interface SyncResult {
  created: number
  /** subscriptions we had stored that TikTok no longer lists, made again */
  recreated: number
}

export async function syncSubscriptions(
  deps: { api: TikTokApi; repo: TikTokRepository; clock: Clock },
  conn: TikTokConnection,
  forms: TikTokForm[],
  token: string,
  /** subscription ids TikTok lists right now (health check); undefined: trust what is stored */
  live?: Set<string>,
): Promise<SyncResult> {
  const { api, repo } = deps
  const result: SyncResult = { created: 0, recreated: 0 }
  const stale: Array<string | null> = []
  const alive = (id: string | null): id is string => !!id && (!live || live.has(id))
  const subscribe = async (pageId: string | null, had: string | null): Promise<string> => {
    const id = await api.subscribe({
      accessToken: token,
      advertiserId: conn.advertiser_id,
      pageId,
      callbackUrl: conn.callback_url,
    })
    result.created += 1
    if (had) {
      result.recreated += 1
      stale.push(had)
    }
    return id
  }

  if (conn.all_forms === 1) {
    if (!alive(conn.subscription_id)) {
      const id = await subscribe(null, conn.subscription_id)
      await repo.updateConnection(conn.advertiser_id, { subscription_id: id, updated_at: deps.clock.now() })
    }
    for (const f of forms) {
      if (!f.subscription_id) continue
      stale.push(f.subscription_id)
      await repo.updateForm(f.advertiser_id, f.page_id, { subscription_id: null, updated_at: deps.clock.now() })
    }
  } else {
    for (const f of forms) {
      if (f.selected === 1 && !alive(f.subscription_id)) {
        const id = await subscribe(f.page_id, f.subscription_id)
        await repo.updateForm(f.advertiser_id, f.page_id, { subscription_id: id, updated_at: deps.clock.now() })
      } else if (f.selected === 0 && f.subscription_id) {
        stale.push(f.subscription_id)
        await repo.updateForm(f.advertiser_id, f.page_id, { subscription_id: null, updated_at: deps.clock.now() })
      }
    }
    if (conn.subscription_id) {
      stale.push(conn.subscription_id)
      await repo.updateConnection(conn.advertiser_id, { subscription_id: null, updated_at: deps.clock.now() })
    }
  }
  await repo.enqueueUnsubscribe(stale, deps.clock.now())
  return result
}

/** The ids of the app's subscriptions TikTok lists right now (every page of subscription/get). */
export async function liveSubscriptionIds(api: TikTokApi): Promise<Set<string>> {
  return new Set((await api.listSubscriptions()).map((s) => s.subscriptionId))
}

const OUTBOX_RETRY_MS = [60_000, 5 * 60_000, 30 * 60_000, 2 * 3600_000, 12 * 3600_000]

/**
 * Cancel what the outbox holds. A subscription TikTok no longer knows counts as cancelled; any other
 * failure waits and is tried again (up to every 12 hours, never dropped).
 */
export async function drainUnsubscribes(deps: {
  api: TikTokApi
  repo: TikTokRepository
  clock: Clock
  log: FastifyBaseLogger
}): Promise<number> {
  let done = 0
  for (const row of await deps.repo.dueUnsubscribes(deps.clock.now())) {
    try {
      await deps.api.unsubscribe(row.subscription_id)
      await deps.repo.unsubscribed(row.subscription_id)
      done += 1
    } catch (err) {
      if (err instanceof TikTokApiError && (err.kind === 'bad_request' || err.kind === 'permission')) {
        // TikTok refuses to cancel what it does not have (already gone): nothing left to do.
        deps.log.info({ code: err.code }, 'subscription already gone at TikTok')
        await deps.repo.unsubscribed(row.subscription_id)
        continue
      }
      const wait = OUTBOX_RETRY_MS[Math.min(row.attempts, OUTBOX_RETRY_MS.length - 1)]!
      await deps.repo.unsubscribeFailed(
        row.subscription_id,
        err instanceof Error ? err.message : String(err),
        deps.clock.now() + wait,
      )
    }
  }
  return done
}
