import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { manifest } from '../../manifest/app.js'
import { fmt, pickLang, STRINGS, type StringKey } from '../settings/i18n.js'
import { type ConnectRefusal, ConnectRefused } from './authorisation.js'

/** TikTok's redirect after the advertiser approved (or not). Extra parameters are ignored. */
const CallbackQuery = z.object({
  state: z.string().max(1024).optional(),
  auth_code: z.string().max(512).optional(),
  code: z.string().max(512).optional(),
  lang: z.string().max(8).optional(),
})

/** The page's line for each refusal (the catalogue's `ttcb_*`; exchange_failed also says TikTok's reason). */
const REFUSAL: Record<Exclude<ConnectRefusal, 'exchange_failed'>, StringKey> = {
  forged_state: 'ttcb_forged_state',
  replayed_state: 'ttcb_replayed_state',
  denied: 'ttcb_denied',
  portal_gone: 'ttcb_portal_gone',
}

/**
 * The OAuth redirect target. It runs in the popup the settings tab opened (a top-level window, so
 * TikTok's page is never framed), tells the tab through postMessage (same origin as the tab's
 * frame) and closes itself. Every refusal changes nothing and says why.
 * @see https://business-api.tiktok.com/portal/docs (authorisation)
 */
export async function tiktokOAuthRoutes(app: FastifyInstance): Promise<void> {
  // An HTML page for the popup, not part of the JSON API; its query is read leniently (a bad one says why on the page).
  app.get(manifest.paths.tiktokOAuthCallback, { schema: { hide: true } }, async (request, reply) => {
    const parsed = CallbackQuery.safeParse(request.query ?? {})
    const q = parsed.success ? parsed.data : {}
    const lang = pickLang(q.lang)
    const t = STRINGS[lang]
    let ok = false
    let message: string
    if (!app.tiktok.connector) {
      message = t.ttcb_not_configured
    } else {
      try {
        const { advertisers } = await app.tiktok.connector.finishConnect({
          state: q.state,
          auth_code: q.auth_code ?? q.code,
        })
        ok = true
        message = fmt(t.ttcb_ok, { n: advertisers.length })
      } catch (err) {
        if (!(err instanceof ConnectRefused)) throw err
        request.log.warn({ why: err.why }, 'TikTok authorisation refused')
        message =
          err.why === 'exchange_failed' ? fmt(t.ttcb_exchange_failed, { why: err.message }) : t[REFUSAL[err.why]]
      }
    }
    reply.header(
      'content-security-policy',
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    )
    reply
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff')
    return reply
      .code(ok ? 200 : 400)
      .type('text/html; charset=utf-8')
      .view('tiktok-callback.eta', {
        ok,
        message,
        title: t.ttcb_title,
        close: t.ttcb_close,
        lang: lang === 'vn' ? 'vi' : lang,
      })
  })
}
