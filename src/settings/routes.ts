import type { FastifyInstance, FastifyReply } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { manifest } from '../../manifest/app.js'
import { verifyAndStorePortal } from '../bitrix24/install.js'
import { createUpdateCheck } from '../bitrix24/lifecycle.js'
import { FrameRequestBody, FrameRequestQuery } from '../bitrix24/schemas.js'
import { batchWithToken } from '../bitrix24/token-call.js'
import type { Config } from '../config.js'
import type { Portal } from '../db/schema.js'
import { Errors } from '../errors.js'
import { publicBase } from '../public-url.js'
import { buildCardView, detailTabOf } from './card.js'
import { pageStrings, pickLang } from './i18n.js'
import { createIpLimiter, createUserVerifier, VERIFY_BUSY } from './portal-data.js'
import { buildState, buildStats, leadUrlTemplate } from './view-model.js'
import { readWebEntry } from './web-entry.js'

/** Page opens (placement/app POSTs) per client address per minute: generous for people, a wall for floods. */
const PAGE_POSTS_PER_IP_PER_MIN = 60
/** Changes with each start, so browsers fetch a new release's SDK bundle (a stamp, not the app's time). */
const ASSET_VERSION = Date.now().toString(36)

/**
 * The page may be framed by the portal's own domain only.
 * @see https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy/frame-ancestors
 */
export function frameAncestors(portalDomain: string): string {
  // Origins only: a path in the stored domain (an emulated portal) is not part of the frame's origin.
  const domain = (portalDomain.split('/')[0] ?? '').replace(/[^A-Za-z0-9.:-]/g, '')
  // Plain http only for a portal on loopback (local development, the emulator): a real portal is https.
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+)(:\d+)?$/.test(domain)
  return loopback ? `frame-ancestors https://${domain} http://${domain}` : `frame-ancestors https://${domain}`
}

/**
 * Scripts and styles from the app only. The tab needs no inline style: its components style
 * through element.style, which CSP does not govern, and the kit's inline <style> is left out
 * (src/web/main.ts).
 */
function pageHeaders(reply: FastifyReply, portal: Portal): void {
  reply.header(
    'content-security-policy',
    `${frameAncestors(portal.domain)}; default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'`,
  )
  reply.header('x-content-type-options', 'nosniff')
  reply.header('referrer-policy', 'no-referrer')
  reply.header('cache-control', 'no-store')
}

/**
 * The settings page: the main page (DEFAULT placement) and the CRM list placements; and from the
 * card tabs (CRM_LEAD_DETAIL_TAB, CRM_DEAL_DETAIL_TAB) the card page, one record's TikTok story
 * (card.ts, views/card.eta). Bitrix24 POSTs the user's AUTH_ID: it is checked against the portal
 * stored at install before anything is shown.
 * The page is a shell (views/settings.eta) for the tab built from src/web/ with its initial state;
 * the tab's API is in the other modules of this folder (state, webhook, mapping, lead and TikTok
 * routes), behind api-guard.ts.
 */
export function settingsPageRoutes(config: Config) {
  return async function routes(plain: FastifyInstance): Promise<void> {
    const app = plain.withTypeProvider<ZodTypeProvider>()
    const verifyUser = createUserVerifier(app.portalQueues, config.B24_REQUEST_TIMEOUT_MS, {
      now: () => app.clock.now(),
    })
    const checkUpdate = createUpdateCheck(app, config)
    const pageLimiter = createIpLimiter(PAGE_POSTS_PER_IP_PER_MIN, 60_000, () => app.clock.now())
    // Read once: a tab that was never built stops the start with the command that builds it.
    const web = readWebEntry()

    const options = {
      schema: { body: FrameRequestBody, querystring: FrameRequestQuery, hide: true },
      // Counted before the body is validated, so a flood of malformed opens is held back too.
      preValidation: async (request: { ip: string }, reply: FastifyReply) => {
        if (!pageLimiter(request.ip)) {
          reply.header('retry-after', '60')
          throw Errors.tooManyVerifications('too many page opens from this address')
        }
      },
    }
    for (const path of [manifest.paths.handler, manifest.paths.placement])
      app.post(path, options, async (request, reply) => {
        const { body, query } = request
        // A lead's (or deal's) card tab names its record; the settings tab opens from everything else.
        const cardTab = detailTabOf(body.PLACEMENT, body.PLACEMENT_OPTIONS)
        let portal = await app.portals.find(body.member_id)
        if (!portal || portal.state === 'uninstalled')
          throw Errors.unknownPortal('the app is not installed on this portal')
        const profile = await verifyUser(portal.member_id, portal.client_endpoint, body.AUTH_ID)
        // The portal's share of REST calls for sign-in checks is spent: deliveries keep the rest.
        if (profile === VERIFY_BUSY) {
          reply.header('retry-after', '2')
          throw Errors.tooManyVerifications()
        }
        if (!profile) throw Errors.unauthorized('Bitrix24 did not confirm this user (AUTH_ID)')
        // No REST method lists a portal's administrators: the health alerts go to those seen here
        // (verified by `profile` just now); someone no longer an administrator is forgotten.
        await app.alerts.sawUser(portal.member_id, profile.ID, profile.ADMIN)
        // An administrator opening the app re-authorises a portal whose refresh token died.
        if (portal.state === 'needs_reauth' && profile.ADMIN && body.REFRESH_ID) {
          try {
            portal = await verifyAndStorePortal(
              { config, portals: app.portals, clock: app.clock },
              { memberId: portal.member_id, refreshToken: body.REFRESH_ID, lang: portal.lang, isInstall: false },
            )
            app.b24.forget(portal.member_id)
            app.dispatcher.notify(portal.member_id)
            request.log.info({ memberId: portal.member_id }, 'portal re-authorised by an administrator')
          } catch (err) {
            request.log.warn({ err, memberId: portal.member_id }, 're-authorisation failed')
          }
        }
        const lang = pickLang(query.LANG ?? portal.lang)
        const user = {
          id: profile.ID,
          name: [profile.NAME, profile.LAST_NAME].filter(Boolean).join(' ') || `#${profile.ID}`,
          isAdmin: profile.ADMIN,
        }
        const session = app.sessions.sign({ m: portal.member_id, u: user.id, a: user.isAdmin, n: user.name, l: lang })
        if (cardTab) {
          // The card tab: the verified user, the record's story in the page (usable without a
          // second request) and a session for its refresh. Cards open far more often than the
          // settings, so the administrator's mode and update checks below (a REST call each open)
          // are left to the settings tab.
          const card = await buildCardView(app, {
            portal,
            entity: cardTab.entity,
            b24Id: cardTab.id,
            personal: user.isAdmin,
          })
          pageHeaders(reply, portal)
          return reply.type('text/html; charset=utf-8').view('card.eta', {
            web,
            lang,
            strings: pageStrings(lang),
            session,
            csrf: app.sessions.csrfFor(session, portal.member_id),
            card,
            assetVersion: ASSET_VERSION,
          })
        }
        // An administrator opening the app is when a mode switch they just made should show (a
        // change rebinds the placements, crm-mode.ts) and when an update whose ONAPPUPDATE was
        // lost is noticed (below): both questions go in one batch, one request of the portal's
        // budget instead of two (at 2 per second the second would hold the page half a second).
        let info: unknown
        if (profile.ADMIN && portal.state === 'active') {
          const { member_id: memberId, client_endpoint: endpoint } = portal
          const answers = await app.portalQueues.run(
            memberId,
            () =>
              batchWithToken(
                endpoint,
                { mode: 'crm.settings.mode.get', info: 'app.info' },
                body.AUTH_ID,
                config.B24_REQUEST_TIMEOUT_MS,
              ),
            1,
          )
          info = answers?.info
          // A batch that failed as a whole: each check asks on its own, as before.
          await app.dispatcher.crmModes.detect(memberId, answers?.mode === undefined ? {} : { answer: answers.mode })
          portal = (await app.portals.find(memberId)) ?? portal
        }
        // An app update whose ONAPPUPDATE was lost: an administrator's open notices the new version,
        // rebinds the handlers and takes this page's APPLICATION_TOKEN (bitrix24/lifecycle.ts).
        portal = await checkUpdate({
          portal,
          isAdmin: profile.ADMIN,
          authId: body.AUTH_ID,
          applicationToken: body.APPLICATION_TOKEN,
          base: publicBase(config, request),
          log: request.log.child({ memberId: portal.member_id }),
          info,
        })
        const conf = await app.settings.ensure(portal.member_id)
        // The overview's counters ride in the page too: the tab is usable without a second request.
        const [state, stats] = await Promise.all([
          buildState(app, { portal, conf, user, base: publicBase(config, request), lang }),
          buildStats(app, portal.member_id),
        ])
        pageHeaders(reply, portal)
        return reply.type('text/html; charset=utf-8').view('settings.eta', {
          web,
          lang,
          strings: pageStrings(lang),
          session,
          csrf: app.sessions.csrfFor(session, portal.member_id),
          state,
          stats,
          leadUrlTemplate: leadUrlTemplate(portal.domain),
          assetVersion: ASSET_VERSION,
        })
      })
  }
}
