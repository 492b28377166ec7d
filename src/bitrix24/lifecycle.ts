/**
 * App updates whose ONAPPUPDATE never arrived.
 *
 * An update gives the app a new application_token and drops the handlers the old version bound
 * (on-app-update.md, event-bind.md). The event is the usual carrier of the new token, but online
 * events are never retried (events/index.md): a lost one would leave every later event refused and
 * the placements gone. Bitrix24 also sends APPLICATION_TOKEN with every frame POST (install,
 * placements, the app's page: a required field of every widget handler's data, "the same value is
 * passed in the application_token parameter when event handlers are invoked"), and app.info answers
 * the installed VERSION. So when an administrator opens the app, the version app.info names (asked
 * with that user's own AUTH_ID at the endpoint stored at install, so the page is verified too) is
 * compared with the one stored; a change means an update was missed: the handlers are bound again
 * and the frame's APPLICATION_TOKEN is taken. A frame without one leaves the old token in place and
 * the settings tab says so in plain words until a new token arrives.
 * @see https://apidocs.bitrix24.com/api-reference/common/events/on-app-update.html
 * @see https://apidocs.bitrix24.com/api-reference/common/system/app-info.html
 * @see https://apidocs.bitrix24.com/api-reference/widgets/crm/list-menu.html ("What the handler receives")
 * @see https://apidocs.bitrix24.com/settings/oauth/simple-way.html (APPLICATION_TOKEN)
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { manifest } from '../../manifest/app.js'
import type { Config } from '../config.js'
import type { Portal } from '../db/schema.js'
import { parseCrmMode } from './crm-mode.js'
import { bindManifest } from './install.js'
import { callWithToken } from './token-call.js'

/**
 * Does this app.info answer name this app? Local apps answer their client_id as CODE, marketplace
 * apps their application code.
 * @see https://apidocs.bitrix24.com/api-reference/common/system/app-info.html
 */
export function namesThisApp(info: unknown, config: Config): boolean {
  if (!info || typeof info !== 'object') return false
  const code = (info as { CODE?: unknown }).CODE
  return typeof code === 'string' && code.length > 0 && (code === config.B24_CLIENT_ID || code === manifest.code)
}

/** app.info's VERSION (an integer in its docs; ONAPPUPDATE carries it as a string) as text. */
export function versionOf(info: unknown): string | null {
  if (!info || typeof info !== 'object') return null
  const v = (info as { VERSION?: unknown }).VERSION
  if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  if (typeof v === 'string' && v.trim() !== '' && v.length <= 64) return v.trim()
  return null
}

/** Whether the stored application_token is from an older version than the one installed. */
export function applicationTokenStale(portal: Pick<Portal, 'app_version' | 'app_token_version'>): boolean {
  return (
    portal.app_version !== null && portal.app_token_version !== null && portal.app_token_version !== portal.app_version
  )
}

/** Binds the manifest's placements and events again, for the portal's CRM mode. */
export async function rebind(
  app: FastifyInstance,
  memberId: string,
  crmMode: unknown,
  base: string,
  log: FastifyBaseLogger,
): Promise<boolean> {
  try {
    const binding = await bindManifest(app.b24, memberId, base, log, { crmMode: parseCrmMode(crmMode) })
    return binding.ok
  } catch (err) {
    log.error({ err }, 'rebinding placements/events failed')
    return false
  }
}

export interface FrameOpen {
  portal: Portal
  /** the user's profile said ADMIN (verified with their AUTH_ID) */
  isAdmin: boolean
  /** the frame POST's AUTH_ID, already verified as a user of this portal */
  authId: string
  /** the frame POST's APPLICATION_TOKEN, if it carried one */
  applicationToken: string | undefined
  /** PUBLIC_URL: where the handlers are bound */
  base: string
  log: FastifyBaseLogger
  /**
   * app.info's answer when the caller already asked in a batch with other page-open calls (one
   * request instead of several: at 2 per second each extra call costs the page half a second).
   * Absent: asked here.
   */
  info?: unknown
}

/**
 * At a verified frame open: notice an app update whose ONAPPUPDATE was lost and recover from it.
 * Only administrators' opens act (binding handlers is an administrator's business, and the token
 * is taken only from their page). Returns the portal row as it is afterwards.
 */
export function createUpdateCheck(app: FastifyInstance, config: Config) {
  const running = new Map<string, Promise<Portal>>()

  async function check(open: FrameOpen): Promise<Portal> {
    const { portal, log } = open
    const memberId = portal.member_id
    const info =
      open.info ??
      (await app.portalQueues.run(
        memberId,
        () => callWithToken(portal.client_endpoint, 'app.info', open.authId, config.B24_REQUEST_TIMEOUT_MS),
        1,
      ))
    if (!namesThisApp(info, config)) return portal
    const version = versionOf(info)
    if (version === null) return portal
    const frameToken = open.applicationToken
    const tokenMatches = frameToken !== undefined && (await app.portals.applicationTokenMatches(memberId, frameToken))
    if (portal.app_version === null) {
      // First sight (installed before versions were kept): nothing to compare, so only the token
      // Bitrix24 sends with this page can tell whether ours is current.
      if (frameToken !== undefined && !tokenMatches) await app.portals.setApplicationToken(memberId, frameToken)
      await app.portals.setAppVersion(memberId, version, version)
      return (await app.portals.find(memberId)) ?? portal
    }
    if (version === portal.app_version) {
      // Same version: a token still marked stale is fixed by the one this page carries.
      if (applicationTokenStale(portal) && frameToken !== undefined) {
        if (!tokenMatches) await app.portals.setApplicationToken(memberId, frameToken)
        await app.portals.setAppVersion(memberId, version, version)
        log.info({ version }, 'application_token taken from the app page after a missed update')
        return (await app.portals.find(memberId)) ?? portal
      }
      return portal
    }
    // Another version than the one we know: the update's ONAPPUPDATE never reached us.
    const bound = await rebind(app, memberId, portal.crm_mode, open.base, log)
    if (frameToken !== undefined) {
      if (!tokenMatches) await app.portals.setApplicationToken(memberId, frameToken)
      await app.portals.setAppVersion(memberId, version, version)
    } else {
      // The old token stays (the tab says events are refused) until Bitrix24 gives the new one.
      await app.portals.setAppVersion(memberId, version, undefined)
    }
    log.warn(
      { from: portal.app_version, to: version, bound, tokenTaken: frameToken !== undefined },
      "app update noticed at an administrator's page open (its ONAPPUPDATE was lost): handlers rebound",
    )
    return (await app.portals.find(memberId)) ?? portal
  }

  return async function onFrameOpen(open: FrameOpen): Promise<Portal> {
    if (!open.isAdmin || open.portal.state !== 'active') return open.portal
    const memberId = open.portal.member_id
    const inFlight = running.get(memberId)
    if (inFlight) return inFlight
    const p = check(open)
      .catch((err: unknown) => {
        open.log.warn({ err }, 'app version check failed')
        return open.portal
      })
      .finally(() => running.delete(memberId))
    running.set(memberId, p)
    return p
  }
}
