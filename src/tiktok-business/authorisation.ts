import { randomBytes } from 'node:crypto'
import { manifest } from '../../manifest/app.js'
import type { TikTokContext } from './context.js'
import { createStateSigner, STATE_TTL_MS } from './oauth-state.js'

/** How long an approved authorisation waits for the admin to pick ad accounts. */
const GRANT_TTL_MS = 60 * 60_000

export type ConnectRefusal = 'forged_state' | 'replayed_state' | 'denied' | 'portal_gone' | 'exchange_failed'

export class ConnectRefused extends Error {
  constructor(
    readonly why: ConnectRefusal,
    detail: string,
  ) {
    super(detail)
    this.name = 'ConnectRefused'
  }
}

export interface GrantedAdvertiser {
  advertiserId: string
  advertiserName: string
}

/**
 * "Connect TikTok": the authorisation URL with a signed single-use state, and TikTok's redirect
 * back, which leaves a pending grant for the admin to pick ad accounts from (connector.ts).
 * @see https://business-api.tiktok.com/portal/docs (advertiser authorisation)
 */
export function createAuthorisation(ctx: TikTokContext, opts: { appId: string; authUrl: string; stateSecret: string }) {
  const signer = createStateSigner(opts.stateSecret)
  return {
    /** The TikTok authorisation URL for this admin, with a fresh single-use state. */
    async startConnect(memberId: string, user: { id: number; name: string }, redirectUri: string): Promise<string> {
      const now = ctx.clock.now()
      const { state, payload } = signer.sign(memberId, user.id, now)
      await ctx.repo.saveState({
        nonce: payload.n,
        member_id: memberId,
        user_id: user.id,
        user_name: user.name,
        redirect_uri: redirectUri,
        expires_at: now + STATE_TTL_MS,
      })
      const url = new URL(opts.authUrl)
      url.searchParams.set('app_id', opts.appId)
      url.searchParams.set('state', state)
      url.searchParams.set('redirect_uri', redirectUri)
      return url.toString()
    },

    /**
     * TikTok's redirect back: check the state (signature, expiry, single use, portal and user), then
     * exchange the auth_code for the advertiser's long-term token and keep the ad accounts it grants
     * as a pending grant for the admin to pick from. A refusal changes nothing.
     */
    async finishConnect(q: {
      state?: string | undefined
      auth_code?: string | undefined
    }): Promise<{ memberId: string; advertisers: GrantedAdvertiser[] }> {
      const now = ctx.clock.now()
      const payload = signer.verify(q.state, now)
      if (!payload) throw new ConnectRefused('forged_state', 'the state is missing, forged or expired')
      const row = await ctx.repo.consumeState(payload.n)
      if (!row || row.member_id !== payload.m || row.user_id !== payload.u || row.expires_at <= now)
        throw new ConnectRefused('replayed_state', 'this authorisation was already used or has expired')
      if (!q.auth_code) throw new ConnectRefused('denied', 'TikTok did not grant access (no auth_code)')
      const portal = await ctx.portals.find(row.member_id)
      if (!portal || portal.state === 'uninstalled')
        throw new ConnectRefused('portal_gone', 'the app is no longer installed on this portal')
      let token: string
      let scope: number[]
      let advertisers: GrantedAdvertiser[]
      try {
        const exchanged = await ctx.api.exchangeAuthCode(q.auth_code)
        token = exchanged.accessToken
        scope = exchanged.scope
        const granted = new Set(exchanged.advertiserIds)
        advertisers = (await ctx.api.listAdvertisers(token)).filter(
          (a) => granted.size === 0 || granted.has(a.advertiserId),
        )
      } catch (err) {
        throw new ConnectRefused('exchange_failed', err instanceof Error ? err.message : String(err))
      }
      const settings = await ctx.settings.ensure(row.member_id)
      const callbackUrl = new URL(
        manifest.paths.tiktokWebhook.replace(':key', settings.webhook_key),
        row.redirect_uri,
      ).toString()
      await ctx.repo.saveGrant({
        id: randomBytes(12).toString('base64url'),
        member_id: row.member_id,
        user_id: row.user_id,
        user_name: row.user_name,
        token_sealed: ctx.box.seal(token),
        scope_json: JSON.stringify(scope),
        advertisers_json: JSON.stringify(advertisers),
        callback_url: callbackUrl,
        expires_at: now + GRANT_TTL_MS,
      })
      ctx.log.info({ memberId: row.member_id, advertisers: advertisers.length }, 'TikTok authorisation received')
      return { memberId: row.member_id, advertisers }
    },
  }
}
