import type { FastifyBaseLogger } from 'fastify'
import { type Clock, systemClock } from '../clock.js'
import type { Config } from '../config.js'
import type { Portal } from '../db/schema.js'
import type { PortalRepository } from '../db/repositories/portals.js'
import { B24Error, OPERATION_TIME_LIMIT } from '../errors.js'
import { classifyError } from './classify.js'
import { OAuthError, expiresAt, refreshWithOAuthServer } from './oauth.js'
import type { PortalQueues } from './portal-queues.js'
import { RATE_LIMIT_PAUSE_MS } from './limits.js'
import { buildSdkClient, type ClientEntry, sentWith } from './sdk-client.js'
import { BatchResult } from './schemas.js'
import { AUTH_CONNECTOR, withAuthConnector } from './offline-events.js'

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
  /** time (app.clock) for token expiry; the system clock when not given */
  clock?: Pick<Clock, 'now'>
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

/**
 * One b24jssdk OAuth client per portal, built from the endpoint stored at install
 * (never from anything a later request says), with refreshes that are single-flight,
 * go to the configured OAuth server and are persisted atomically.
 */
export function createB24Clients({ config, portals, log, queues, rateFor, clock = systemClock }: B24ClientsDeps) {
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
      stored.expires_at * 1000 > clock.now()
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
      expires_at: expiresAt(answer, clock.now()),
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
    const entry = buildSdkClient(portal, { config, rate: rateFor(memberId), clock, refresh })
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
      if (e.kind === 'rate_limited' && e.b24Code !== OPERATION_TIME_LIMIT) queues.pause(memberId, RATE_LIMIT_PAUSE_MS)
      if (e.kind === 'reauth_required' && AUTH_REFUSED_CODES.has(e.b24Code)) {
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
          `Bitrix24 refused the app's access token (${e.b24Code}) even after a token refresh; open the app in Bitrix24 to re-authorise it`,
        )
        log.warn({ memberId, code: e.b24Code }, 'portal needs re-authorisation: access refused after a refresh')
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
