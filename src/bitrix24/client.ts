import { AsyncLocalStorage } from 'node:async_hooks'
import { AjaxError, ApiVersion, B24OAuth, EnumAppStatus, ParamsFactory, type HttpV2 } from '@bitrix24/b24jssdk'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import type { Portal } from '../db/schema.js'
import type { PortalRepository } from '../db/repositories/portals.js'
import { OAuthError, expiresAt, refreshWithOAuthServer } from './oauth.js'
import type { PortalQueues } from './portal-queues.js'
import { burstLimit, RATE_LIMIT_PAUSE_MS } from './limits.js'
import { BatchResult } from './schemas.js'
import { AUTH_CONNECTOR, withAuthConnector } from './offline-events.js'

/**
 * How a failed call should be handled. Every Bitrix24 reply is sorted into one of these once, here.
 * - rate_limited: not executed (QUERY_LIMIT_EXCEEDED / OPERATION_TIME_LIMIT); wait and retry.
 * - transient: not executed (could not connect, 402 subscription lapse); retry later.
 * - outcome_unknown: sent, but we do not know whether it ran (timeout, reset, 5xx); reconcile before repeating a write.
 * - reauth_required: the portal's refresh token is dead; a person must open the app again.
 * - not_installed: the portal has no usable tokens (uninstalled or never verified).
 * - permanent: Bitrix24 refused this call as such (bad field, no access); repeating it cannot help.
 */
export type B24ErrorKind =
  | 'rate_limited'
  | 'transient'
  | 'outcome_unknown'
  | 'reauth_required'
  | 'not_installed'
  | 'permanent'

export class B24Error extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly kind: B24ErrorKind,
    message: string,
  ) {
    super(message)
    this.name = 'B24Error'
  }
}

// Connection never established: the request cannot have run.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_INVALID_URL',
])
const RATE_CODES = new Set(['QUERY_LIMIT_EXCEEDED', 'OPERATION_TIME_LIMIT'])
// Codes the HTTP client makes up when the answer carried no Bitrix24 `error` (axios ERR_*, the SDK's JSSDK_*).
// A Bitrix24 error code is one word (ERROR_CORE, invalid_token); a web server's own JSON 404 says "Not Found".
const BITRIX24_CODE_SHAPE = /^[A-Za-z0-9_]+$/
const NOT_BITRIX24_CODE =
  /^(ERR_BAD_REQUEST|ERR_BAD_RESPONSE|JSSDK_AXIOS_ERROR|JSSDK_INTERNAL_AJAX_ERROR|JSSDK_RESPONSE_ERROR)$/

export function classifyError(err: unknown): B24Error {
  if (err instanceof B24Error) return err
  if (err instanceof AjaxError) {
    const original = (err as unknown as { originalError?: unknown }).originalError
    if (original instanceof OAuthError) return fromOAuthError(original)
    const code = String(err.code)
    const status = err.status
    const message = `${code}: ${err.message}`
    if (RATE_CODES.has(code)) return new B24Error(code, status, 'rate_limited', message)
    if (NOT_SENT_CODES.has(code)) return new B24Error(code, status, 'transient', message)
    if (code === 'PAYMENT_REQUIRED' || status === 402) return new B24Error(code, status, 'transient', message)
    if (
      code === 'REQUEST_TIMEOUT' ||
      code === 'NETWORK_ERROR' ||
      code === 'ECONNRESET' ||
      code === 'ECONNABORTED' ||
      code === 'EPIPE' ||
      status === 0 ||
      status >= 500
    ) {
      return new B24Error(code, status, 'outcome_unknown', message)
    }
    if (code === 'expired_token' || code === 'invalid_token' || code === 'NO_AUTH_FOUND')
      return new B24Error(code, status, 'reauth_required', message)
    // An HTTP error with no Bitrix24 error in it (a 404 page from a wrong or moved endpoint, a
    // proxy's 4xx): the portal did not run the method, so it is the portal's failure, not the call's.
    if (NOT_BITRIX24_CODE.test(code) || !BITRIX24_CODE_SHAPE.test(code))
      return new B24Error(code, status, 'transient', `HTTP ${status} without a Bitrix24 error (${err.message})`)
    return new B24Error(code, status, 'permanent', message)
  }
  if (err instanceof OAuthError) return fromOAuthError(err)
  return new B24Error('UNKNOWN', 0, 'outcome_unknown', err instanceof Error ? err.message : String(err))
}

function fromOAuthError(e: OAuthError): B24Error {
  return new B24Error(e.code, 401, e.permanent ? 'reauth_required' : 'transient', e.message)
}

export interface CallResult<T = unknown> {
  result: T
  total: number
  more: boolean
}

export interface B24Client {
  call<T = unknown>(method: string, params?: Record<string, unknown>): Promise<CallResult<T>>
  /** One `batch` request; `cmd` values are `method?query` strings. Per-command errors stay keyed. */
  batch(cmd: Record<string, string>, halt?: boolean): Promise<BatchResult>
}

export interface B24ClientsDeps {
  config: Config
  portals: PortalRepository
  log: FastifyBaseLogger
  /** every request to a portal starts through its queue (the app-wide pacing) */
  queues: PortalQueues
  /** requests per second for a portal (2, or 5 on Enterprise plans) */
  rateFor: (memberId: string) => number
}

export interface ClientOptions {
  /**
   * false only for code already running inside a slot of the portal's queue
   * (the dispatcher), which would otherwise wait on itself.
   */
  paced?: boolean
  /** queue priority: people waiting on a page go before the backlog */
  priority?: number
}

/** Bitrix24 refused the access token as such (not merely expired, which the SDK refreshes itself). */
const AUTH_REFUSED_CODES = new Set(['invalid_token', 'NO_AUTH_FOUND', 'expired_token'])

export type B24Clients = ReturnType<typeof createB24Clients>

/** One SDK client of a portal and what it was built with. */
interface ClientEntry {
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
const sentWith = new AsyncLocalStorage<{ token: string | null }>()

/**
 * One b24jssdk OAuth client per portal, built from the endpoint stored at install
 * (never from anything a later request says), with refreshes that are single-flight,
 * go to the configured OAuth server and are persisted atomically.
 */
export function createB24Clients({ config, portals, log, queues, rateFor }: B24ClientsDeps) {
  const clients = new Map<string, ClientEntry>()
  const refreshing = new Map<string, Promise<Portal>>()

  /**
   * Refresh the portal's tokens once, however many callers (and SDK clients) ask. `held` is the
   * access token the caller's request was sent with: if the stored one is another, someone
   * refreshed since (a request sent with the old token and answered expired_token after the
   * refresh finished), so the stored tokens are the answer and the refresh token, which Bitrix24
   * accepts only once, is not spent again. Identity, not a time window: a fresh token that the
   * portal refuses in turn is refreshed at once.
   * @see https://apidocs.bitrix24.com/settings/oauth/index.html
   */
  async function refresh(memberId: string, held: string | null): Promise<Portal> {
    const inFlight = refreshing.get(memberId)
    if (inFlight) return inFlight
    const stored = await portals.find(memberId)
    // (awaiting the row may have let another caller start the refresh)
    const started = refreshing.get(memberId)
    if (started) return started
    if (
      stored?.access_token &&
      stored.access_token !== held &&
      stored.state === 'active' &&
      stored.expires_at * 1000 > Date.now()
    )
      return stored
    const p = doRefresh(memberId).finally(() => refreshing.delete(memberId))
    refreshing.set(memberId, p)
    return p
  }

  async function doRefresh(memberId: string): Promise<Portal> {
    const portal = await portals.find(memberId)
    if (!portal || portal.state === 'uninstalled' || !portal.refresh_token) {
      throw new B24Error('NOT_INSTALLED', 401, 'not_installed', 'The app is not installed on this portal')
    }
    const spent = portal.refresh_token
    let answer
    try {
      answer = await refreshWithOAuthServer(config, spent)
    } catch (err) {
      if (err instanceof OAuthError && err.permanent) {
        await portals.setState(
          memberId,
          'needs_reauth',
          `Token refresh refused by Bitrix24 (${err.code}); open the app in Bitrix24 to re-authorise it`,
        )
        log.warn({ memberId, code: err.code }, 'portal needs re-authorisation')
      }
      throw err
    }
    if (answer.member_id !== memberId) {
      throw new OAuthError('MEMBER_MISMATCH', 'OAuth server answered for another portal', false)
    }
    const saved = await portals.saveRefreshedTokens(memberId, spent, {
      access_token: answer.access_token,
      refresh_token: answer.refresh_token,
      expires_at: expiresAt(answer),
      scope: answer.scope,
      app_status: answer.status,
    })
    if (!saved)
      log.warn({ memberId }, 'refreshed tokens not stored: the portal changed meanwhile (reinstalled or uninstalled)')
    log.info({ memberId }, 'access token refreshed')
    const fresh = await portals.find(memberId)
    if (!fresh)
      throw new B24Error('NOT_INSTALLED', 401, 'not_installed', 'The portal was removed during a token refresh')
    return fresh
  }

  function build(portal: Portal): ClientEntry {
    const margin = config.B24_TOKEN_REFRESH_MARGIN_S
    const drainRate = rateFor(portal.member_id)
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
      { clientId: config.B24_CLIENT_ID ?? '', clientSecret: config.B24_CLIENT_SECRET ?? '' },
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
      const fresh = await refresh(portal.member_id, sentWith.getStore()?.token ?? entry.held)
      entry.refreshToken = fresh.refresh_token
      entry.held = fresh.access_token
      // A token that lives less than twice the margin is used for half its life instead of never.
      const life = fresh.expires_at - Math.floor(Date.now() / 1000)
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
    http.ajaxClient.defaults.timeout = config.B24_REQUEST_TIMEOUT_MS
    entry.http = http
    return entry
  }

  async function clientFor(memberId: string): Promise<ClientEntry> {
    const portal = await portals.find(memberId)
    if (!portal || portal.state === 'uninstalled' || !portal.access_token) {
      throw new B24Error('NOT_INSTALLED', 401, 'not_installed', 'The app is not installed on this portal')
    }
    if (portal.state === 'needs_reauth') {
      throw new B24Error(
        'NEEDS_REAUTH',
        401,
        'reauth_required',
        portal.state_reason ?? 'The portal needs re-authorisation',
      )
    }
    const cached = clients.get(memberId)
    // A re-install (new refresh token written by someone else) invalidates the cached client, and
    // so does a changed rate (2 → 5 req/s in the settings): the SDK's own limiter must follow at once.
    if (cached && cached.refreshToken === portal.refresh_token && cached.rate === rateFor(memberId)) return cached
    const entry = build(portal)
    clients.set(memberId, entry)
    return entry
  }

  /**
   * One call. Bitrix24 refusing the access token itself (invalid_token, NO_AUTH_FOUND: revoked or
   * unknown, which the SDK does not refresh on its own) gets one token refresh and one retry; refused
   * again, the portal is marked as needing re-authorisation, so delivery stops asking until a person
   * opens the app (a refused refresh marks it in doRefresh).
   */
  async function send<T>(
    memberId: string,
    method: string,
    params: Record<string, unknown>,
    retried = false,
  ): Promise<CallResult<T>> {
    const entry = await clientFor(memberId)
    try {
      const res = await sentWith.run({ token: entry.held }, () => entry.http.call(method, params))
      if (!res.isSuccess) throw res.getErrors().next().value ?? new Error('Bitrix24 call failed')
      const data = res.getData()
      return { result: data?.result as T, total: res.getTotal(), more: res.isMore() }
    } catch (err) {
      const e = classifyError(err)
      // The request bucket is the portal's; OPERATION_TIME_LIMIT holds one method only (the dispatcher's budget).
      if (e.kind === 'rate_limited' && e.code !== 'OPERATION_TIME_LIMIT') queues.pause(memberId, RATE_LIMIT_PAUSE_MS)
      if (e.kind === 'reauth_required' && AUTH_REFUSED_CODES.has(e.code)) {
        if (!retried) {
          try {
            // The token refused is the one the client holds now (after the SDK's own refresh, if any).
            await refresh(memberId, entry.held)
          } catch (refreshErr) {
            throw classifyError(refreshErr)
          }
          clients.delete(memberId)
          return send<T>(memberId, method, params, true)
        }
        await portals.setState(
          memberId,
          'needs_reauth',
          `Bitrix24 refused the app's access token (${e.code}) even after a token refresh; open the app in Bitrix24 to re-authorise it`,
        )
        log.warn({ memberId, code: e.code }, 'portal needs re-authorisation: access refused after a refresh')
      }
      throw e
    }
  }

  function forPortal(memberId: string, opts: ClientOptions = {}): B24Client {
    const { paced = true, priority = 0 } = opts
    return {
      call<T>(method: string, params: Record<string, unknown> = {}): Promise<CallResult<T>> {
        return paced
          ? queues.run(memberId, () => send<T>(memberId, method, params), priority)
          : send<T>(memberId, method, params)
      },
      async batch(cmd: Record<string, string>, halt = false): Promise<BatchResult> {
        // Our own writes carry our offline-event source key, so they do not come back to us as
        // offline events; each command is the modifying call, so each one carries it (and the batch).
        const own = Object.fromEntries(Object.entries(cmd).map(([key, command]) => [key, withAuthConnector(command)]))
        const { result } = await this.call<unknown>('batch', {
          halt: halt ? 1 : 0,
          cmd: own,
          auth_connector: AUTH_CONNECTOR,
        })
        const parsed = BatchResult.safeParse(result)
        if (!parsed.success)
          throw new B24Error('BAD_BATCH_ANSWER', 200, 'outcome_unknown', 'batch answer has an unexpected shape')
        return parsed.data
      },
    }
  }

  return {
    forPortal,
    /** Drop the cached client (uninstall, purge). */
    forget(memberId: string) {
      clients.delete(memberId)
    },
  }
}
