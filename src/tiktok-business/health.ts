import type { TikTokConnection } from '../db/schema.js'
import { TikTokApiError } from '../errors.js'
import { reason, type TikTokContext } from './context.js'
import { refreshForms } from './forms.js'
import { liveSubscriptionIds, syncSubscriptions } from './subscriptions.js'

/** Told each stored outcome of a check (the health alerts, src/plugins/alerts.ts); per context, so apps do not share it. */
const checked = new WeakMap<TikTokContext, (conn: TikTokConnection) => void>()

export function onConnectionChecked(ctx: TikTokContext, fn: (conn: TikTokConnection) => void): void {
  checked.set(ctx, fn)
}

/**
 * The daily check of one connection. TikTok kills a subscription silently when the advertiser's
 * token is revoked or re-authorised, so: is the token alive and does it still reach the ad account
 * (oauth2/advertiser/get), does TikTok still list our subscriptions (subscription/get, re-created if
 * not), and have the forms' questions changed. The outcome is stored as the connection's status,
 * which the tab shows in plain words and /metrics exports.
 * @see https://business-api.tiktok.com/portal/docs (Lead Generation subscriptions; return codes 40104/40105)
 */
export async function checkConnection(
  ctx: TikTokContext,
  conn: TikTokConnection,
  live?: Set<string>,
): Promise<TikTokConnection> {
  const now = ctx.clock.now()
  const set = async (status: TikTokConnection['status'], why: string | null) => {
    await ctx.repo.updateConnection(conn.advertiser_id, {
      status,
      status_reason: why,
      last_check_at: now,
      updated_at: now,
    })
    const row = (await ctx.repo.findConnection(conn.advertiser_id))!
    try {
      checked.get(ctx)?.(row)
    } catch {
      // a listener's failure is its own; the check's outcome is stored
    }
    return row
  }
  const token = ctx.box.open(conn.token_sealed)
  const log = ctx.log.child({ memberId: conn.member_id, advertiserId: conn.advertiser_id })
  try {
    const advertisers = await ctx.api.listAdvertisers(token)
    if (!advertisers.some((a) => a.advertiserId === conn.advertiser_id)) {
      log.warn('TikTok token no longer covers the ad account')
      return set('error', 'lost_access')
    }
    const forms = await refreshForms(ctx, conn, token)
    const subs = live ?? (await liveSubscriptionIds(ctx.api))
    const fresh = (await ctx.repo.findConnection(conn.advertiser_id))!
    const synced = await syncSubscriptions(ctx, fresh, forms, token, subs)
    if (synced.recreated > 0)
      log.warn({ recreated: synced.recreated }, 'TikTok lead subscription had vanished; re-created')
    return set('active', synced.recreated > 0 ? 'recreated' : null)
  } catch (err) {
    if (err instanceof TikTokApiError && err.kind === 'token_invalid') {
      log.warn({ code: err.code }, 'TikTok token revoked or invalid')
      return set('token_invalid', `${err.message} (code ${err.code})`)
    }
    if (err instanceof TikTokApiError && (err.kind === 'permission' || err.kind === 'bad_request')) {
      log.warn({ code: err.code, endpoint: err.endpoint }, 'TikTok refused the check')
      return set('subscription_lost', `${err.message} (code ${err.code})`)
    }
    log.warn({ err: reason(err) }, 'TikTok check failed')
    return set('error', `unreachable: ${reason(err)}`)
  }
}
