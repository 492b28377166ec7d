/**
 * The OAuth server (oauth.bitrix.info's role): `/oauth/token/` and its REST base `/rest/`.
 *
 * grant_type=refresh_token with client_id, client_secret, refresh_token, by GET query or POST
 * form. Success answers the documented JSON, where `domain` is the OAuth server's host (not the
 * portal's) and the used refresh token dies. Errors:
 * - invalid_request (400): grant_type or refresh_token missing, or a grant the emulator lacks;
 * - invalid_client (401): wrong client_id/client_secret, or the app is no longer installed on
 *   the token's portal ("The application may not be installed in Bitrix24");
 * - invalid_grant (400): unknown, used or expired refresh token.
 * The docs give codes but no HTTP statuses; 400/401 follow RFC 6749 §5.2 and b24phpsdk's
 * handling of this server's answers (src/Core/ApiLevelErrorHandler.php handleOAuthError).
 * @see settings/oauth/auto-renewal.md, settings/oauth/error-codes.md
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { EmulatorContext } from './context.js'
import { timeBlock } from './envelope.js'
import { appInfo } from './methods/app-user.js'
import { restErrors } from './rest-error.js'
import { normalizeMethod, requestParams } from './rest-params.js'
import type { RecordedOAuthCall } from './types/records.js'

interface OAuthAnswer {
  status: number
  body: Record<string, unknown>
}

function oauthError(status: number, error: string, description: string): OAuthAnswer {
  return { status, body: { error, error_description: description } }
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function refresh(ctx: EmulatorContext, params: Record<string, unknown>, record: RecordedOAuthCall): OAuthAnswer {
  switch (ctx.faults.refreshFails) {
    case 500:
      return oauthError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error')
    case 'invalid_grant':
      return oauthError(400, 'invalid_grant', 'Invalid grant')
    case 'portal_deleted':
      // The docs say refreshing fails once "the application was removed from Bitrix24" but give
      // no code for a deleted portal; invalid_grant with a telling description stands in.
      return oauthError(400, 'invalid_grant', 'Portal was deleted')
    default:
      break
  }
  const grantType = text(params['grant_type'])
  if (grantType === '') return oauthError(400, 'invalid_request', 'The grant type was not specified in the request')
  if (grantType !== 'refresh_token') {
    return oauthError(400, 'invalid_request', `Grant type "${grantType}" is not supported by the emulator`)
  }
  if (text(params['client_id']) !== ctx.clientId || text(params['client_secret']) !== ctx.clientSecret) {
    return oauthError(401, 'invalid_client', 'The client credentials are invalid')
  }
  const refreshToken = text(params['refresh_token'])
  if (refreshToken === '') return oauthError(400, 'invalid_request', 'No "refresh_token" parameter found')
  const owner = ctx.tokens.peekRefresh(refreshToken)
  if (owner) record.memberId = owner.memberId
  const used = ctx.tokens.useRefresh(refreshToken)
  if (!used.ok) {
    if (used.reason === 'revoked') {
      return oauthError(401, 'invalid_client', 'The application is not installed on this Bitrix24')
    }
    return oauthError(400, 'invalid_grant', 'The refresh token provided is invalid, expired or already used')
  }
  const portal = ctx.findPortal(used.memberId)
  if (!portal) return oauthError(400, 'invalid_grant', 'Portal was deleted')
  const tokens = portal.issueToken(used.userId)
  ctx.counters.refreshes += 1
  return {
    status: 200,
    body: {
      access_token: tokens.access_token,
      expires: tokens.expires,
      expires_in: tokens.expires_in,
      scope: ctx.scopeText,
      domain: new URL(ctx.baseUrl()).host,
      server_endpoint: portal.serverEndpoint,
      status: portal.appStatus,
      client_endpoint: portal.clientEndpoint,
      member_id: portal.memberId,
      user_id: used.userId,
      refresh_token: tokens.refresh_token,
    },
  }
}

export function registerOAuth(app: FastifyInstance, ctx: EmulatorContext): void {
  const tokenHandler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const params = requestParams(request)
    const record: RecordedOAuthCall = {
      at: ctx.now(),
      httpMethod: request.method === 'GET' ? 'GET' : 'POST',
      grantType: text(params['grant_type']),
      clientId: text(params['client_id']),
      ...(text(params['refresh_token']) !== '' ? { refreshToken: text(params['refresh_token']) } : {}),
      status: 0,
    }
    const answer = refresh(ctx, params, record)
    record.status = answer.status
    if (typeof answer.body['error'] === 'string') record.error = answer.body['error']
    ctx.oauthCalls.push(record)
    return reply
      .code(answer.status)
      .header('content-type', 'application/json; charset=utf-8')
      .send(JSON.stringify(answer.body))
  }
  app.route({ method: ['GET', 'POST'], url: '/oauth/token/', handler: tokenHandler })

  /**
   * The OAuth server's own REST base (SERVER_ENDPOINT): it answers app.info for any portal's
   * token, the trusted place to read the app's status.
   * @see settings/oauth/simple-way.md ("call app.info on the authorization server")
   */
  const serverRest = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const started = ctx.now()
    const method = normalizeMethod((request.params as { '*': string })['*'] ?? '')
    const auth = requestParams(request)['auth']
    const send = (status: number, body: Record<string, unknown>) =>
      reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body))
    if (typeof auth !== 'string' || auth === '') return send(401, restErrors.noAuth().body())
    const check = ctx.tokens.checkAccess(auth)
    if (!check.ok) {
      const err = check.reason === 'expired_token' ? restErrors.expiredToken() : restErrors.invalidToken()
      return send(err.status, err.body())
    }
    const portal = ctx.findPortal(check.memberId)
    if (method !== 'app.info' || !portal) return send(404, restErrors.methodNotFound().body())
    return send(200, { result: appInfo(portal, ctx.clientId), time: timeBlock(started, ctx.now()) })
  }
  app.route({ method: ['GET', 'POST'], url: '/rest/*', handler: serverRest })
}
