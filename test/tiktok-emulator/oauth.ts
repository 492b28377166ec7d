/**
 * Advertiser authorisation (Marketing API): the portal's auth page, the auth_code → long-term
 * token exchange, the advertiser list, token revocation.
 * @see reference/tiktok-research.md §4.1; bububa api/oauth/url.go (BaseOAuthURL …/portal/auth),
 *   model/oauth/{access_token,advertiser_get,revoke_token}.go
 */
import type { FastifyInstance } from 'fastify'
import { api, checkApp, checkToken, required, str, type Ctx } from './api.js'
import { ApiError, CODE } from './envelope.js'
import { escapeHtml, page } from './html.js'
import { hexToken } from './state.js'

/** Lead Management (12000000), Leads Retrieval (12010000/12010100), Test Leads (12020000/12020100). @see reference/tiktok-research.md §1(b) */
export const DEFAULT_SCOPE = [12000000, 12010000, 12010100, 12020000, 12020100]

export interface OAuthOptions {
  authCodeTtlMs: number
  scope: number[]
}

/** Registered redirect URIs match exactly on everything but the query. [INFERRED] the query rule. */
function withoutQuery(uri: string): string {
  try {
    const url = new URL(uri)
    return `${url.origin}${url.pathname}`
  } catch {
    return uri
  }
}

export function isRegistered(ctx: Ctx, redirectUri: string): boolean {
  const bare = withoutQuery(redirectUri)
  for (const uri of ctx.state.redirectUris) if (withoutQuery(uri) === bare) return true
  return false
}

/**
 * The redirect after approval carries the code twice, as `auth_code` and `code` (same value), and
 * `state`. Integrations read either ("兼容 code / auth_code", a TikTok Business callback handler in
 * the code corpus; an Odoo one reads `auth_code`). Deny: [INFERRED] `error=access_denied` + state,
 * the OAuth 2.0 wording TikTok's Login Kit uses (developers.tiktok.com/doc/oauth-error-handling).
 */
export function issueCode(ctx: Ctx, opts: OAuthOptions, redirectUri: string, state: string, advertiserIds: string[]) {
  const code = hexToken(20)
  ctx.state.codes.set(code, { code, advertiserIds, expiresAt: ctx.now() + opts.authCodeTtlMs, used: false })
  const location = new URL(redirectUri)
  location.searchParams.set('auth_code', code)
  location.searchParams.set('code', code)
  location.searchParams.set('state', state)
  return { location: location.toString(), authCode: code }
}

function denyLocation(redirectUri: string, state: string): string {
  const location = new URL(redirectUri)
  location.searchParams.set('error', 'access_denied')
  location.searchParams.set('state', state)
  return location.toString()
}

function errorPage(message: string): string {
  return page('Authorization error', `<h1>Authorization error</h1><p id="error">${escapeHtml(message)}</p>`)
}

export function registerOAuth(app: FastifyInstance, ctx: Ctx, opts: OAuthOptions): void {
  const check = (q: Record<string, unknown>): string | undefined => {
    if (q['app_id'] !== ctx.appId) return 'The app does not exist.'
    const redirectUri = q['redirect_uri']
    if (typeof redirectUri !== 'string' || !isRegistered(ctx, redirectUri))
      return 'The redirect_uri is not registered for this app.'
    return undefined
  }

  app.get('/portal/auth', async (request, reply) => {
    const q = request.query as Record<string, unknown>
    const problem = check(q)
    if (problem) return reply.code(400).type('text/html; charset=utf-8').send(errorPage(problem))
    const rows = [...ctx.state.advertisers.values()]
      .map(
        (a) =>
          `<li><label><input type="checkbox" name="advertiser_ids" value="${escapeHtml(a.id)}" checked> ` +
          `${escapeHtml(a.name)} <small>${escapeHtml(a.id)}</small></label></li>`,
      )
      .join('')
    const hidden = ['app_id', 'state', 'redirect_uri']
      .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(String(q[k] ?? ''))}">`)
      .join('')
    const body =
      `<h1>Authorize app ${escapeHtml(ctx.appId)}</h1><p>The app asks to manage these ad accounts:</p>` +
      `<form method="post" action="/portal/auth">${hidden}<ul>${rows}</ul>` +
      `<button id="approve" type="submit" name="decision" value="approve">Approve</button> ` +
      `<button id="deny" type="submit" name="decision" value="deny">Deny</button></form>`
    return reply.type('text/html; charset=utf-8').send(page('TikTok for Business: authorize', body))
  })

  app.post('/portal/auth', async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, unknown>
    const problem = check(form)
    if (problem) return reply.code(400).type('text/html; charset=utf-8').send(errorPage(problem))
    const redirectUri = String(form['redirect_uri'])
    const state = String(form['state'] ?? '')
    if (form['decision'] !== 'approve') return reply.redirect(denyLocation(redirectUri, state), 302)
    const picked = ([] as unknown[]).concat(form['advertiser_ids'] ?? []).map(String)
    const advertiserIds = picked.filter((id) => ctx.state.advertisers.has(id))
    if (advertiserIds.length === 0) {
      // [INFERRED] the page will not submit an approval without an ad account.
      return reply.code(400).type('text/html; charset=utf-8').send(errorPage('Select at least one ad account.'))
    }
    return reply.redirect(issueCode(ctx, opts, redirectUri, state, advertiserIds).location, 302)
  })

  /** @see tiktok/tiktok-business-api-sdk python_sdk/docs/Oauth2AccessTokenBody.md (app_id, secret, auth_code) */
  api(app, ctx, 'POST', 'oauth2/access_token', ({ body }) => {
    required(body, 'app_id', 'secret', 'auth_code')
    checkApp(ctx, body)
    const code = ctx.state.codes.get(String(body['auth_code']))
    if (!code || code.used || code.expiresAt <= ctx.now()) {
      throw new ApiError(
        CODE.AUTH_CODE,
        'Invalid auth_code. The auth_code is canceled, used or expired; please re-authorize.',
      )
    }
    code.used = true
    const token = hexToken(20)
    ctx.state.tokens.set(token, {
      token,
      advertiserIds: [...code.advertiserIds],
      scope: [...opts.scope],
      revoked: false,
    })
    const data: Record<string, unknown> = { access_token: token, scope: [...opts.scope], token_type: 'Bearer' }
    // return_advertiser_ids defaults to true (bububa model/oauth/access_token.go).
    if (body['return_advertiser_ids'] !== false) data['advertiser_ids'] = [...code.advertiserIds]
    return data
  })

  api(app, ctx, 'GET', 'oauth2/advertiser/get', (req) => {
    checkApp(ctx, req.query)
    const token = checkToken(ctx, req)
    const list = token.advertiserIds.flatMap((id) => {
      const adv = ctx.state.advertisers.get(id)
      return adv ? [{ advertiser_id: adv.id, advertiser_name: adv.name }] : []
    })
    return { list }
  })

  /** Answer: the advertisers the token no longer reaches (bububa model/oauth/revoke_token.go). */
  api(app, ctx, 'POST', 'oauth2/revoke_token', ({ body }) => {
    required(body, 'app_id', 'secret', 'access_token')
    checkApp(ctx, body)
    const token = ctx.state.liveToken(str(body, 'access_token'))
    if (!token) throw new ApiError(CODE.TOKEN_INVALID, 'Access token is incorrect or has been revoked.')
    token.revoked = true
    return { app_id: ctx.appId, advertiser_ids: [...token.advertiserIds] }
  })
}
