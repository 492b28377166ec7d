import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { manifest } from '../../manifest/app.js'
import { effectiveMode } from '../bitrix24/crm-mode.js'
import { verifyAndStorePortal } from '../bitrix24/install.js'
import { createUpdateCheck } from '../bitrix24/lifecycle.js'
import { publicBase } from '../bitrix24/routes.js'
import { FrameRequestBody, FrameRequestQuery } from '../bitrix24/schemas.js'
import type { Config } from '../config.js'
import type { Portal, PortalSettings } from '../db/schema.js'
import { Errors } from '../errors.js'
import { mapStoredLead, nameOptions } from '../mapping/stored-lead.js'
import { validateMappingAgainstFields } from '../mapping/schemas.js'
import type { NormalizedLead } from '../tiktok/schemas.js'
import { parseInput } from '../validation.js'
import { pickLang, strings } from './i18n.js'
import { createFieldsCache, createIpLimiter, createUserVerifier, VERIFY_BUSY } from './portal-data.js'
import { LeadsQuery, MappingBody, OptionsBody, PreviewBody, ResendBody } from './schemas.js'
import { createSessionSigner, type Session } from './session.js'
import { tiktokSettingsRoutes } from './tiktok-routes.js'
import {
  buildState,
  buildStats,
  leadRowView,
  leadUrlTemplate,
  maskDeep,
  maskPersonal,
  maskSecret,
  optionsOf,
  webhookUrl,
} from './view-model.js'

declare module 'fastify' {
  interface FastifyRequest {
    session?: Session
    portal?: Portal
  }
}

/** How long a rotated-out secret keeps verifying, so TikTok-side changes need not be instant. */
export const SECRET_GRACE_MS = 24 * 60 * 60_000
/** How long a rotated-out webhook URL keeps accepting leads, so forwarders and TikTok can move. */
export const WEBHOOK_KEY_GRACE_MS = 24 * 60 * 60_000
/** Page opens (placement/app POSTs) per client address per minute: generous for people, a wall for floods. */
const PAGE_POSTS_PER_IP_PER_MIN = 60
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

function pageHeaders(reply: FastifyReply, portal: Portal): void {
  reply.header(
    'content-security-policy',
    `${frameAncestors(portal.domain)}; default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'`,
  )
  reply.header('x-content-type-options', 'nosniff')
  reply.header('referrer-policy', 'no-referrer')
  reply.header('cache-control', 'no-store')
}

export function settingsRoutes(config: Config) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const signer = createSessionSigner(config.SESSION_SECRET ?? randomBytes(32).toString('hex'))
    const verifyUser = createUserVerifier(app.portalQueues, config.B24_REQUEST_TIMEOUT_MS)
    const checkUpdate = createUpdateCheck(app, config)
    const pageLimiter = createIpLimiter(PAGE_POSTS_PER_IP_PER_MIN, 60_000)
    // The editor's target fields follow the portal's CRM mode (lead fields, or contact and deal fields).
    const fieldsCache = createFieldsCache(app.b24, async (memberId) =>
      effectiveMode((await app.portals.find(memberId)) ?? { crm_mode: null }),
    )

    /**
     * The main page (DEFAULT placement) and the CRM placement. Bitrix24 POSTs the user's AUTH_ID:
     * it is checked against the portal stored at install before anything is shown.
     */
    async function page(request: FastifyRequest, reply: FastifyReply) {
      if (!pageLimiter(request.ip)) {
        reply.header('retry-after', '60')
        throw Errors.tooManyVerifications('too many page opens from this address')
      }
      const body = parseInput(FrameRequestBody, request.body, 'placement request')
      const query = parseInput(FrameRequestQuery, request.query, 'placement query')
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
      // An administrator opening the app re-authorises a portal whose refresh token died.
      if (portal.state === 'needs_reauth' && profile.ADMIN && body.REFRESH_ID) {
        try {
          portal = await verifyAndStorePortal(
            { config, portals: app.portals },
            { memberId: portal.member_id, refreshToken: body.REFRESH_ID, lang: portal.lang, isInstall: false },
          )
          app.b24.forget(portal.member_id)
          app.dispatcher.notify(portal.member_id)
          request.log.info({ memberId: portal.member_id }, 'portal re-authorised by an administrator')
        } catch (err) {
          request.log.warn({ err, memberId: portal.member_id }, 're-authorisation failed')
        }
      }
      // An administrator opening the app is when a mode switch they just made should show: ask
      // again (one call; a change rebinds the placements, crm-mode.ts).
      if (profile.ADMIN && portal.state === 'active') {
        await app.dispatcher.crmModes.detect(portal.member_id)
        portal = (await app.portals.find(portal.member_id)) ?? portal
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
      })
      const conf = await app.settings.ensure(portal.member_id)
      const lang = pickLang(query.LANG ?? portal.lang)
      const user = {
        id: profile.ID,
        name: [profile.NAME, profile.LAST_NAME].filter(Boolean).join(' ') || `#${profile.ID}`,
        isAdmin: profile.ADMIN,
      }
      const session = signer.sign({ m: portal.member_id, u: user.id, a: user.isAdmin, n: user.name, l: lang })
      const state = await buildState(app, { portal, conf, user, base: publicBase(config, request), lang })
      pageHeaders(reply, portal)
      return reply.type('text/html; charset=utf-8').view('settings.eta', {
        lang,
        strings: strings(lang),
        session,
        csrf: signer.csrfFor(session, portal.member_id),
        state,
        leadUrlTemplate: leadUrlTemplate(portal.domain),
        assetVersion: ASSET_VERSION,
      })
    }
    app.post(manifest.paths.handler, page)
    app.post(manifest.paths.placement, page)

    await app.register(
      async (api) => {
        // Answers carry portal data and secrets: never kept by a browser or proxy cache.
        api.addHook('onSend', async (_request, reply, payload) => {
          reply.header('cache-control', 'no-store')
          return payload
        })

        // Every call needs a valid session; every change also its CSRF token, and most an administrator.
        api.addHook('preHandler', async (request) => {
          const token = request.headers['x-session']
          const session = signer.verify(typeof token === 'string' ? token : undefined)
          if (!session)
            throw Errors.unauthorized('the session is missing, forged or expired: reopen the page from Bitrix24')
          const portal = await app.portals.find(session.m)
          if (!portal || portal.state === 'uninstalled')
            throw Errors.unauthorized('the app is no longer installed on this portal')
          if (request.method !== 'GET') {
            const csrf = request.headers['x-csrf-token']
            if (!signer.checkCsrf(token as string, session.m, typeof csrf === 'string' ? csrf : undefined))
              throw Errors.forbidden('missing or wrong CSRF token')
            const readOnly = request.routeOptions.config as { readOnly?: boolean } | undefined
            if (!session.a && !readOnly?.readOnly)
              throw Errors.forbidden('only portal administrators can change settings')
          }
          request.session = session
          request.portal = portal
        })

        const ctx = async (
          request: FastifyRequest,
        ): Promise<{ session: Session; portal: Portal; conf: PortalSettings }> => {
          const session = request.session!
          return { session, portal: request.portal!, conf: await app.settings.ensure(session.m) }
        }

        api.get('/state', async (request) => {
          const { session, portal, conf } = await ctx(request)
          return buildState(app, {
            portal,
            conf,
            user: { id: session.u, name: session.n, isAdmin: session.a },
            base: publicBase(config, request),
            lang: session.l,
          })
        })

        await api.register(tiktokSettingsRoutes(config, fieldsCache))

        api.get('/fields', async (request) => (await fieldsCache.load(request.session!.m)).view)

        api.get('/leads', async (request) => {
          const { portal } = await ctx(request)
          const q = parseInput(LeadsQuery, request.query, 'query')
          const rows = await app.leads.latest(portal.member_id, {
            status: q.status,
            limit: q.limit,
            beforeId: q.before,
          })
          const template = leadUrlTemplate(portal.domain)
          // Lead names are personal data: administrators only, masked for everyone else.
          return {
            leads: rows.map((r) => leadRowView(r, template, request.session!.a)),
            nextBefore: rows.length === q.limit ? rows[rows.length - 1]!.id : null,
          }
        })

        api.get('/stats', async (request) => buildStats(app, request.session!.m))

        api.post('/secret/reveal', async (request) => ({ secret: (await ctx(request)).conf.signing_secret }))

        /** New webhook URL; the old one keeps accepting leads for the grace period; the app's TikTok subscriptions move now. */
        api.post('/webhook/rotate', async (request) => {
          const m = request.session!.m
          const rotated = await app.settings.rotateWebhookKey(m, WEBHOOK_KEY_GRACE_MS)
          const url = webhookUrl(publicBase(config, request), rotated)
          request.log.info({ memberId: m }, 'webhook URL rotated')
          if (app.tiktok.connector) {
            try {
              await app.tiktok.connector.moveCallback(m, url)
            } catch (err) {
              request.log.warn(
                { err, memberId: m },
                'moving TikTok subscriptions to the new webhook URL failed; the health check retries',
              )
            }
          }
          return { url, previousValidUntil: new Date(rotated.previous_webhook_key_until!).toISOString() }
        })

        api.post('/secret/rotate', async (request) => {
          const rotated = await app.settings.rotateSecret(request.session!.m, SECRET_GRACE_MS)
          request.log.info({ memberId: request.session!.m }, 'webhook secret rotated')
          return {
            secret: rotated.signing_secret,
            secretMasked: maskSecret(rotated.signing_secret),
            previousValidUntil: new Date(rotated.previous_secret_until!).toISOString(),
          }
        })

        api.post('/options', async (request) => {
          const body = parseInput(OptionsBody, request.body, 'options')
          const m = request.session!.m
          const { retention_days, name_order, ...rest } = body
          // Retention or name order left out of the body: unchanged.
          await app.settings.update(m, {
            ...rest,
            ...(retention_days === undefined ? {} : { retention_days }),
            ...(name_order === undefined ? {} : { name_order }),
          })
          app.portalRates.set(m, body.rate_per_s)
          app.portalQueues.rateChanged(m)
          return { ok: true, options: optionsOf((await app.settings.find(m))!, app.retention.days) }
        })

        api.post('/mapping', async (request, reply) => {
          const mapping = parseInput(MappingBody, request.body, 'mapping')
          const { session, portal, conf } = await ctx(request)
          const { raw } = await fieldsCache.load(session.m)
          const errors = validateMappingAgainstFields(mapping, raw)
          if (errors.length)
            return reply.code(400).send({
              error: 'APP_ERR_MAPPING_INVALID',
              message: `The mapping does not fit this portal's lead fields: ${errors.join('; ')}`,
              errors,
            })
          await app.settings.update(session.m, { mapping_json: JSON.stringify(mapping) })
          const latest = (await app.leads.latest(session.m, { limit: 1 }))[0]
          const warnings = latest
            ? mapStoredLead(latest, {
                ...nameOptions(conf, portal.lang),
                mapping,
                defaultCountry: conf.default_country,
                originatorId: manifest.code,
                portalFields: raw,
              }).warnings
            : []
          return { ok: true, mapping, warnings }
        })

        api.post('/preview', { config: { readOnly: true } }, async (request) => {
          const { mapping } = parseInput(PreviewBody, request.body, 'preview')
          const { session, portal, conf } = await ctx(request)
          // The latest real lead if there is one among the last 20, else the latest (a test lead).
          const rows = await app.leads.latest(session.m, { limit: 20 })
          const latest = rows.find((r) => r.is_test === 0) ?? rows[0]
          if (!latest) return { lead: null, fields: {}, warnings: [] }
          const { raw } = await fieldsCache.load(session.m).catch(() => ({ raw: undefined }))
          const { lead, fields, warnings } = mapStoredLead(latest, {
            ...nameOptions(conf, portal.lang),
            mapping,
            defaultCountry: conf.default_country,
            originatorId: manifest.code,
            ...(raw ? { portalFields: raw } : {}),
          })
          if (session.a) return { lead: { tiktokLeadId: lead.leadId, answers: lead.answers }, fields, warnings }
          // Not an administrator: the shape of the mapping without the person's data.
          const hide = (text: string) =>
            lead.answers
              .reduce(
                (out, a) => (a.value.trim().length > 2 ? out.split(a.value).join(maskPersonal(a.value)) : out),
                text,
              )
              .replace(/\+?\d[\d ()-]{5,}\d/g, (d) => maskPersonal(d))
          return {
            lead: {
              tiktokLeadId: lead.leadId,
              answers: lead.answers.map((a) => ({ ...a, value: maskPersonal(a.value) })),
            },
            fields: maskDeep(fields),
            warnings: warnings.map(hide),
          }
        })

        api.post('/test-lead', async (request) => {
          const m = request.session!.m
          const tiktokLeadId = `test-${Date.now()}-${randomBytes(3).toString('hex')}`
          const lead: NormalizedLead = {
            leadId: tiktokLeadId,
            format: 'pull',
            createdAt: new Date().toISOString(),
            formId: null,
            formName: 'Test form (TikTok Leads app)',
            pageId: null,
            pageName: null,
            advertiserId: null,
            advertiserName: null,
            campaignId: null,
            campaignName: 'Test campaign',
            adgroupId: null,
            adgroupName: null,
            adId: null,
            adName: 'Test ad',
            answers: [
              { key: 'name', value: 'Test Lead' },
              { key: 'phone_number', value: '+84912345678' },
              { key: 'email', value: 'test.lead@example.com' },
              { key: 'What are you interested in?', value: 'A demo' },
            ],
          }
          await app.leads.insertMany(
            m,
            [
              {
                tiktokLeadId,
                format: 'pull',
                isTest: true,
                leadJson: JSON.stringify(lead),
                rawJson: JSON.stringify({ test: true }),
              },
            ],
            { scheme: 'test', valid: true },
          )
          const row = (await app.leads.findByTikTokId(m, tiktokLeadId))!
          app.dispatcher.notify(m)
          return { ok: true, leadId: row.id, tiktokLeadId }
        })

        api.post('/leads/resend', async (request) => {
          const body = parseInput(ResendBody, request.body, 'resend')
          const m = request.session!.m
          const requeued = await app.leads.resend(m, 'all' in body ? 'all-failed' : body.ids)
          if (requeued) app.dispatcher.notify(m)
          return { ok: true, requeued }
        })
      },
      { prefix: '/api/settings' },
    )
  }
}
