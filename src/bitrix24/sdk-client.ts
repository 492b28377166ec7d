import { AsyncLocalStorage } from 'node:async_hooks'
import { ApiVersion, B24OAuth, EnumAppStatus, ParamsFactory, type HttpV2 } from '@bitrix24/b24jssdk'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import type { Portal } from '../db/schema.js'
import { burstLimit } from './limits.js'

/** One SDK client of a portal and what it was built with. */
export interface ClientEntry {
  http: HttpV2
  /** the refresh token stored when this client was built or last refreshed: another one means a re-install */
  refreshToken: string | null
  rate: number
  /** the access token this client sends now */
  held: string | null
}

/**
 * The access token a call of ours was sent with. The SDK asks for a refresh from inside that call
 * (before it, or after its expired_token answer), so the refresh can tell a token that is still the
 * current one from one that was already replaced while the call was on the way.
 */
export const sentWith = new AsyncLocalStorage<{ token: string | null }>()

export interface SdkClientDeps {
  config: Pick<Config, 'B24_TOKEN_REFRESH_MARGIN_S' | 'B24_CLIENT_ID' | 'B24_CLIENT_SECRET' | 'B24_REQUEST_TIMEOUT_MS'>
  /** requests per second the portal's bucket drains */
  rate: number
  clock: Pick<Clock, 'now'>
  /** the single-flight, persisted refresh of client.ts; `held` is the token the refused call carried */
  refresh: (memberId: string, held: string | null) => Promise<Portal>
}

/**
 * A b24jssdk OAuth client for the portal as stored at install, its limiter and retries set for
 * this app, its refreshes handed to `deps.refresh`.
 * @see https://apidocs.bitrix24.com/settings/oauth/index.html
 */
export function buildSdkClient(portal: Portal, deps: SdkClientDeps): ClientEntry {
  const margin = deps.config.B24_TOKEN_REFRESH_MARGIN_S
  const drainRate = deps.rate
  // The SDK's own limiter mirrors the portal's bucket; ours (the queue) is stricter and runs first.
  const rate = { drainRate, burstLimit: burstLimit(drainRate) }
  const b24 = new B24OAuth(
    {
      applicationToken: '',
      userId: portal.installer_user_id ?? 0,
      memberId: portal.member_id,
      accessToken: portal.access_token ?? '',
      refreshToken: portal.refresh_token ?? '',
      // The SDK refreshes once `expires` is past: moving it earlier makes it refresh before Bitrix24 would say expired_token.
      expires: portal.expires_at - margin,
      expiresIn: 3600,
      scope: portal.scope,
      domain: portal.domain,
      clientEndpoint: portal.client_endpoint,
      serverEndpoint: portal.server_endpoint,
      status: EnumAppStatus.Local,
    },
    { clientId: deps.config.B24_CLIENT_ID ?? '', clientSecret: deps.config.B24_CLIENT_SECRET ?? '' },
    {
      restrictionParams: {
        ...ParamsFactory.getDefault(),
        rateLimit: { ...rate, adaptiveEnabled: false },
        adaptiveConfig: { enabled: false, thresholdPercent: 100, coefficient: 0, maxDelay: 0 },
        // Retries belong to the delivery queue, which knows whether a write is safe to repeat.
        maxRetries: 1,
        retryOnNetworkError: false,
      },
    },
  )
  b24.offClientSideWarning()
  const entry: ClientEntry = {
    http: undefined as unknown as HttpV2,
    refreshToken: portal.refresh_token,
    rate: drainRate,
    held: portal.access_token,
  }
  // The SDK would refresh at server_endpoint's host; we refresh at the configured OAuth server
  // and persist there, so the stored row is always the truth. The SDK calls this when its token
  // is past `expires` or was answered expired_token/invalid_token (it merges overlapping calls
  // on one client only; `refresh` merges the rest).
  b24.setCustomRefreshAuth(async () => {
    const fresh = await deps.refresh(portal.member_id, sentWith.getStore()?.token ?? entry.held)
    entry.refreshToken = fresh.refresh_token
    entry.held = fresh.access_token
    // A token that lives less than twice the margin is used for half its life instead of never.
    const life = fresh.expires_at - Math.floor(deps.clock.now() / 1000)
    return {
      access_token: fresh.access_token ?? '',
      refresh_token: fresh.refresh_token ?? '',
      expires: fresh.expires_at - Math.min(margin, Math.floor(life / 2)),
      expires_in: 3600,
      client_endpoint: portal.client_endpoint,
      server_endpoint: portal.server_endpoint,
      member_id: fresh.member_id,
      scope: fresh.scope,
      status: EnumAppStatus.Local,
      domain: fresh.domain,
    } as never
  })
  const http = b24.getHttpClient(ApiVersion.v2) as HttpV2
  http.ajaxClient.defaults.timeout = deps.config.B24_REQUEST_TIMEOUT_MS
  entry.http = http
  return entry
}
