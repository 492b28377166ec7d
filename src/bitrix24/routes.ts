import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { manifest } from '../../manifest/app.js'
import type { Config } from '../config.js'
import { Errors } from '../errors.js'
import { publicBase } from '../public-url.js'
import { fmt, pickLang, STRINGS } from '../settings/i18n.js'
import { parseCrmMode } from './crm-mode.js'
import { bindManifest, normaliseLang, verifyAndStorePortal } from './install.js'
import { namesThisApp, versionOf } from './lifecycle.js'
import { EventBody, EventResult, FrameRequestQuery, InstallBody } from './schemas.js'
import { callWithToken } from './token-call.js'

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** How long after the install POST its ONAPPINSTALL may bring the application_token. */
export const INSTALL_EVENT_WINDOW_MS = 10 * 60_000

export function bitrix24Routes(config: Config) {
  return async function routes(plain: FastifyInstance): Promise<void> {
    const app = plain.withTypeProvider<ZodTypeProvider>()
    // The placement set follows the CRM mode: when a portal switches (seen before a delivery or
    // when the tab opens), its placements are bound again for the new mode.
    app.dispatcher.crmModes.onChange(async (memberId, _from, to) => {
      const log = app.log.child({ memberId })
      const binding = await bindManifest(app.b24, memberId, publicBase(config, { server: plain }), log, { crmMode: to })
      log.info({ crmMode: to, bound: binding.ok }, 'CRM mode changed: placements rebound')
    })

    /**
     * Install handler: verify with the OAuth server, store the portal, bind placements and events,
     * then answer the page that calls installFinish() inside the portal's frame.
     * @see https://apidocs.bitrix24.com/api-reference/app-installation/local-apps/index.html
     */
    const installSchema = { body: InstallBody, querystring: FrameRequestQuery, hide: true }
    app.post(manifest.paths.install, { schema: installSchema }, async (request, reply) => {
      const { body, query } = request
      const portal = await verifyAndStorePortal(
        { config, portals: app.portals, clock: app.clock },
        { memberId: body.member_id, refreshToken: body.REFRESH_ID, lang: query.LANG, isInstall: true },
      )
      app.b24.forget(portal.member_id)
      await app.settings.ensure(portal.member_id)
      // The installing user is an administrator (installing needs the rights) and the OAuth
      // server's answer just named them (user_id): the first one the health alerts go to.
      if (portal.installer_user_id !== null) await app.alerts.sawUser(portal.member_id, portal.installer_user_id, true)
      if (body.APPLICATION_TOKEN) {
        // The install POST carries the application_token, and this POST was just verified by the
        // OAuth exchange (its refresh token names this member_id): a lost or late ONAPPINSTALL
        // (events are queued and never retried) then leaves nothing broken.
        // @see https://apidocs.bitrix24.com/settings/oauth/simple-way.html
        await app.portals.setApplicationToken(portal.member_id, body.APPLICATION_TOKEN)
        await app.settings.closeInstallWindow(portal.member_id)
      } else {
        await app.settings.openInstallWindow(portal.member_id, app.clock.now() + INSTALL_EVENT_WINDOW_MS)
      }
      const log = request.log.child({ memberId: portal.member_id })
      // Leads on or off (simple CRM mode): decides what a TikTok lead becomes and which list menu
      // the settings are bound to. Unknown (the call failed): every placement is bound.
      const crmMode = await app.dispatcher.crmModes.detect(portal.member_id)
      let binding
      try {
        binding = await bindManifest(app.b24, portal.member_id, publicBase(config, request), log, { crmMode })
      } catch (err) {
        log.error({ err }, 'binding placements/events failed')
        binding = { ok: false, errors: { batch: err instanceof Error ? err.message : String(err) } }
      }
      // The version installed, so a later update whose ONAPPUPDATE is lost is noticed (lifecycle.ts).
      const info = await app.portalQueues.run(
        portal.member_id,
        () => callWithToken(portal.client_endpoint, 'app.info', body.AUTH_ID, config.B24_REQUEST_TIMEOUT_MS),
        1,
      )
      const version = namesThisApp(info, config) ? versionOf(info) : null
      if (version !== null)
        await app.portals.setAppVersion(portal.member_id, version, body.APPLICATION_TOKEN ? version : null)
      log.info({ bound: binding.ok, version }, 'app installed')
      // Bitrix24 refuses handler URLs it cannot reach from the internet (localhost, no domain).
      // @see https://apidocs.bitrix24.com/api-reference/widgets/index.html
      const base = publicBase(config, request)
      const wrongHandlerUrl = Object.values(binding.errors).some((e) =>
        /ERROR_WRONG_HANDLER_URL|ERROR_UNSUPPORTED_PROTOCOL/.test(e),
      )
      // Leads that arrived while the portal was unreachable go out now.
      app.dispatcher.notify(portal.member_id)
      // The page speaks the language the tab will (the LANG stored at install, read by pickLang),
      // in the catalogue's words; the template has none of its own.
      const lang = pickLang(normaliseLang(query.LANG))
      const t = STRINGS[lang]
      return reply.type('text/html; charset=utf-8').view('install.eta', {
        htmlLang: lang === 'vn' ? 'vi' : lang,
        t,
        domain: portal.domain,
        ok: binding.ok,
        errors: Object.entries(binding.errors).map(([k, v]) => `${k}: ${v}`),
        wrongHandlerUrl: wrongHandlerUrl ? fmt(t.install_wrong_url, { url: base }) : null,
      })
    })

    /**
     * Event handler. Every delivery must carry the application_token stored for its member_id;
     * anything else is refused and changes nothing.
     * @see https://apidocs.bitrix24.com/api-reference/events/safe-event-handlers.html
     */
    const eventSchema = {
      summary: 'Bitrix24 event delivery (ONAPPINSTALL, ONAPPUPDATE, ONAPPUNINSTALL, …)',
      consumes: ['application/x-www-form-urlencoded'],
      body: EventBody,
      response: { 200: EventResult },
    }
    app.post(manifest.paths.events, { schema: eventSchema }, async (request, reply) => {
      const evt = request.body
      const memberId = evt.auth.member_id
      const portal = await app.portals.find(memberId)
      const log = request.log.child({ memberId, event: evt.event })
      // An unknown member_id gets the very answer a wrong token gets, so this route does not tell
      // anyone which member ids have the app installed.
      if (!portal) {
        log.warn('event refused: unknown member_id')
        throw Errors.badApplicationToken()
      }

      if (evt.event === 'ONAPPINSTALL' && portal.application_token === null) {
        // First sight of this install's secret: believe it only shortly after the install POST, and
        // only if the event's access token works against the REST endpoint we stored from the OAuth
        // server and app.info there names this app (a token of another app on the portal does not).
        const conf = await app.settings.find(memberId)
        const token = evt.auth.access_token
        const inWindow = (conf?.install_event_until ?? 0) > app.clock.now()
        const info =
          inWindow && token
            ? await app.portalQueues.run(
                memberId,
                () => callWithToken(portal.client_endpoint, 'app.info', token, config.B24_REQUEST_TIMEOUT_MS),
                1,
              )
            : undefined
        if (!namesThisApp(info, config)) {
          log.warn({ inWindow }, 'ONAPPINSTALL refused: not verified with the portal')
          throw Errors.badApplicationToken()
        }
        await app.portals.setApplicationToken(memberId, evt.auth.application_token)
        const installed = versionOf(info)
        if (installed !== null) await app.portals.setAppVersion(memberId, installed, installed)
        await app.settings.closeInstallWindow(memberId)
        log.info('application_token stored')
        return reply.send({ ok: true })
      }

      if (evt.event === 'ONAPPUPDATE' && portal.state !== 'uninstalled') {
        // A new app version brings a new application_token, and the old version's handlers may be
        // gone. Believe it only if the event's access token works at the REST endpoint we stored
        // (never the one the event names) and app.info there names this app.
        // @see https://apidocs.bitrix24.com/api-reference/common/events/on-app-update.html
        const token = evt.auth.access_token
        const info = token
          ? await app.portalQueues.run(
              memberId,
              () =>
                callWithToken(portal.client_endpoint, 'app.info', token, config.B24_REQUEST_TIMEOUT_MS).catch(
                  () => undefined,
                ),
              1,
            )
          : undefined
        if (!namesThisApp(info, config)) {
          log.warn('ONAPPUPDATE refused: not verified with the portal')
          throw Errors.badApplicationToken()
        }
        await app.portals.setApplicationToken(memberId, evt.auth.application_token)
        // The version app.info names now: the token just taken belongs to it (see lifecycle.ts).
        const updated = versionOf(info)
        if (updated !== null) await app.portals.setAppVersion(memberId, updated, updated)
        const binding = await bindManifest(app.b24, memberId, publicBase(config, request), log, {
          crmMode: parseCrmMode(portal.crm_mode),
        }).catch((err: unknown) => {
          log.error({ err }, 'rebinding placements/events after the update failed')
          return { ok: false, errors: {} }
        })
        log.info(
          { version: evt.data['VERSION'], bound: binding.ok },
          'app updated: application_token replaced, handlers rebound',
        )
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
