import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { manifest } from '../../manifest/app.js'
import type { Config } from '../config.js'
import { Errors } from '../errors.js'
import { parseInput } from '../validation.js'
import { bindManifest, normaliseLang, verifyAndStorePortal } from './install.js'
import { EventBody, FrameRequestQuery, InstallBody } from './schemas.js'
import { callWithToken } from './token-call.js'

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** The base URL handlers are bound at: PUBLIC_URL, or else what this request was addressed to. */
export function publicBase(config: Config, request: FastifyRequest): string {
  return config.PUBLIC_URL ?? `${request.protocol}://${request.host}`
}

export function bitrix24Routes(config: Config) {
  return async function routes(app: FastifyInstance): Promise<void> {
    /**
     * Install handler: verify with the OAuth server, store the portal, bind placements and events,
     * then answer the page that calls installFinish() inside the portal's frame.
     * @see https://apidocs.bitrix24.com/api-reference/app-installation/local-apps/index.html
     */
    app.post(manifest.paths.install, async (request, reply) => {
      const body = parseInput(InstallBody, request.body, 'install request')
      const query = parseInput(FrameRequestQuery, request.query, 'install query')
      const portal = await verifyAndStorePortal({ config, portals: app.portals }, { memberId: body.member_id, refreshToken: body.REFRESH_ID, lang: query.LANG, isInstall: true })
      app.b24.forget(portal.member_id)
      await app.settings.ensure(portal.member_id)
      const log = request.log.child({ memberId: portal.member_id })
      let binding
      try {
        binding = await bindManifest(app.b24, portal.member_id, publicBase(config, request), log)
      } catch (err) {
        log.error({ err }, 'binding placements/events failed')
        binding = { ok: false, errors: { batch: err instanceof Error ? err.message : String(err) } }
      }
      log.info({ bound: binding.ok }, 'app installed')
      // Leads that arrived while the portal was unreachable go out now.
      app.dispatcher.notify(portal.member_id)
      return reply.type('text/html; charset=utf-8').view('install.eta', {
        lang: normaliseLang(query.LANG),
        domain: portal.domain,
        ok: binding.ok,
        errors: Object.entries(binding.errors).map(([k, v]) => `${k}: ${v}`),
      })
    })

    /**
     * Event handler. Every delivery must carry the application_token stored for its member_id;
     * anything else is refused and changes nothing.
     * @see https://apidocs.bitrix24.com/api-reference/events/safe-event-handlers.html
     */
    app.post(manifest.paths.events, async (request, reply) => {
      const evt = parseInput(EventBody, request.body, 'event')
      const memberId = evt.auth.member_id
      const portal = await app.portals.find(memberId)
      if (!portal) throw Errors.unknownPortal(`member_id ${memberId} has not installed this app`)
      const log = request.log.child({ memberId, event: evt.event })

      if (evt.event === 'ONAPPINSTALL' && portal.application_token === null) {
        // First sight of this install's secret: believe it only if the event's access token works
        // against the REST endpoint we stored from the OAuth server.
        const token = evt.auth.access_token
        if (!token || (await app.portalQueues.run(memberId, () => callWithToken(portal.client_endpoint, 'app.info', token, config.B24_REQUEST_TIMEOUT_MS), 1)) === undefined) {
          throw Errors.unauthorized('ONAPPINSTALL could not be verified with the portal')
        }
        await app.portals.setApplicationToken(memberId, evt.auth.application_token)
        log.info('application_token stored')
        return reply.send({ ok: true })
      }

      if (!portal.application_token || !safeEqual(portal.application_token, evt.auth.application_token)) {
        log.warn('event refused: application_token mismatch')
        throw Errors.badApplicationToken()
      }

      switch (evt.event) {
        case 'ONAPPINSTALL':
          break
        case 'ONAPPUNINSTALL': {
          const clean = String(evt.data['CLEAN'] ?? '0') === '1'
          app.b24.forget(memberId)
          app.dispatcher.forget(memberId)
          // TikTok subscriptions are cancelled and the advertiser tokens forgotten either way.
          await app.tiktok.forgetPortal(memberId)
          if (clean) await app.portals.purge(memberId)
          else await app.portals.markUninstalled(memberId)
          log.info({ clean }, 'app uninstalled')
          break
        }
        default:
          // Only `data` is kept: `auth` carries tokens.
          await app.portals.recordEvent(memberId, evt.event, evt.data)
      }
      return reply.send({ ok: true })
    })
  }
}
