import type { FastifyBaseLogger } from 'fastify'
import { manifest } from '../../manifest/app.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import type { Portal } from '../db/schema.js'
import type { PortalRepository } from '../db/repositories/portals.js'
import { Errors } from '../errors.js'
import type { B24Clients } from './client.js'
import type { CrmMode } from './crm-mode.js'
import { OAuthError, expiresAt, refreshWithOAuthServer } from './oauth.js'
import { batchCommand } from './query.js'

/**
 * Trust nothing the install (or a re-authorising frame) POST says about where the portal lives:
 * spend its refresh token at the configured OAuth server, whose answer names the member and the
 * REST endpoint. That stored endpoint is the only one REST calls ever go to (no SSRF through DOMAIN).
 */
export async function verifyAndStorePortal(
  deps: { config: Config; portals: PortalRepository; clock: Pick<Clock, 'now'> },
  claim: { memberId: string; refreshToken: string; lang?: string | undefined; isInstall: boolean },
): Promise<Portal> {
  if (!deps.config.B24_CLIENT_ID || !deps.config.B24_CLIENT_SECRET) {
    throw Errors.notConfigured('B24_CLIENT_ID / B24_CLIENT_SECRET are not set, so the install cannot be verified')
  }
  let answer
  try {
    answer = await refreshWithOAuthServer(deps.config, claim.refreshToken)
  } catch (err) {
    if (err instanceof OAuthError && err.permanent) throw Errors.installNotVerified(err.code)
    throw Errors.upstream(err instanceof Error ? err.message : String(err))
  }
  if (answer.member_id !== claim.memberId) throw Errors.installNotVerified('member_id does not match the OAuth server')
  return deps.portals.upsertInstalled(
    {
      member_id: answer.member_id,
      domain: portalDomain(answer.client_endpoint),
      client_endpoint: answer.client_endpoint,
      server_endpoint: answer.server_endpoint,
      access_token: answer.access_token,
      refresh_token: answer.refresh_token,
      expires_at: expiresAt(answer, deps.clock.now()),
      scope: answer.scope,
      app_status: answer.status,
      lang: normaliseLang(claim.lang),
      installer_user_id: answer.user_id ?? null,
    },
    claim.isInstall,
  )
}

/**
 * The portal's host, from the REST endpoint the OAuth server named. (The refresh answer's own
 * `domain` field is the OAuth server's, not the portal's.)
 * @see https://apidocs.bitrix24.com/settings/oauth/index.html
 */
export function portalDomain(clientEndpoint: string): string {
  return clientEndpoint.replace(/^https?:\/\//, '').replace(/\/rest\/?$/, '')
}

export function normaliseLang(lang: string | undefined): string {
  const l = (lang ?? 'en').toLowerCase()
  return /^[a-z]{2}$/.test(l) ? l : 'en'
}

export interface BindOutcome {
  ok: boolean
  errors: Record<string, string>
}

/**
 * Bind the manifest's placements and events in one `batch`. Each is unbound first so a
 * re-install (or a changed PUBLIC_URL) leaves exactly one binding per handler.
 * @see https://apidocs.bitrix24.com/api-reference/widgets/placement-bind.html
 * @see https://apidocs.bitrix24.com/api-reference/events/event-bind.html
 * @see https://apidocs.bitrix24.com/api-reference/events/offline-events.html
 */
export async function bindManifest(
  b24: B24Clients,
  memberId: string,
  baseUrl: string,
  log: FastifyBaseLogger,
  opts: { crmMode?: CrmMode | null } = {},
): Promise<BindOutcome> {
  const url = (path: string) => new URL(path, baseUrl).toString()
  const cmd: Record<string, string> = {}
  for (const p of manifest.placements) {
    const handler = url(manifest.paths.placement)
    const langAll = Object.fromEntries(
      Object.entries(p.title).map(([lang, title]) => [
        lang,
        { TITLE: title, DESCRIPTION: p.description[lang as keyof typeof p.description] },
      ]),
    )
    cmd[`unbind_${p.code}`] = batchCommand('placement.unbind', { PLACEMENT: p.code, HANDLER: handler })
    // The placement set follows the CRM mode (no lead list in simple mode); an unknown mode binds
    // every placement, so the settings stay reachable whichever list the portal shows.
    if (opts.crmMode && !(p.modes as readonly number[]).includes(opts.crmMode)) continue
    cmd[`bind_${p.code}`] = batchCommand('placement.bind', {
      PLACEMENT: p.code,
      HANDLER: handler,
      TITLE: p.title.en,
      DESCRIPTION: p.description.en,
      LANG_ALL: langAll,
    })
  }
  for (const event of manifest.events) {
    const handler = url(manifest.paths.events)
    cmd[`unbind_${event}`] = batchCommand('event.unbind', { event, handler })
    cmd[`bind_${event}`] = batchCommand('event.bind', { event, handler })
  }
  // Offline bindings are never unbound here (that could drop changes queued while we were away):
  // a second bind answers "already binded", which is fine.
  for (const { event, modes } of manifest.offlineEvents) {
    // An unknown mode binds both, like the placements.
    if (opts.crmMode && !(modes as readonly number[]).includes(opts.crmMode)) continue
    cmd[`bind_offline_${event}`] = batchCommand('event.bind', {
      event,
      event_type: 'offline',
      auth_connector: manifest.offlineAuthConnector,
    })
  }
  const res = await b24.forPortal(memberId).batch(cmd, false)
  const errors: Record<string, string> = {}
  for (const [key, value] of Object.entries(res.result_error ?? {})) {
    // An unbind of something never bound is not a failure.
    if (key.startsWith('unbind_')) continue
    const v = value as { error?: string; error_description?: string }
    if (key.startsWith('bind_offline_') && /already binded/i.test(v.error_description ?? '')) continue
    errors[key] = `${v.error ?? 'error'}${v.error_description ? `: ${v.error_description}` : ''}`
  }
  if (Object.keys(errors).length) log.warn({ memberId, errors }, 'some placements/events could not be bound')
  return { ok: Object.keys(errors).length === 0, errors }
}
