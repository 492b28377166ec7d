import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Portal, PortalSettings } from '../db/schema.js'
import { Errors } from '../errors.js'
import type { Session } from './session.js'

declare module 'fastify' {
  interface FastifyRequest {
    session?: Session
    portal?: Portal
  }
  interface FastifyContextConfig {
    /** a settings API change a non-administrator may make too (the preview) */
    readOnly?: boolean
  }
}

/**
 * The checks every settings API route runs, registered once in the /api/settings scope (app.ts)
 * so each route module there gets them: a valid session on every call; its CSRF token on every
 * change, and an administrator unless the route is `readOnly`. They run before the body is
 * validated, so a caller without a session learns nothing about what a body should look like.
 */
export default fp(
  async (api) => {
    // The OpenAPI document says so for each route here (plugins/openapi.ts names the two headers).
    api.addHook('onRoute', (route) => {
      const security = route.method === 'GET' ? [{ session: [] }] : [{ session: [], csrf: [] }]
      route.schema = { ...route.schema, security }
    })

    // Answers carry portal data and secrets: never kept by a browser or proxy cache.
    api.addHook('onSend', async (_request, reply, payload) => {
      reply.header('cache-control', 'no-store')
      return payload
    })

    api.addHook('preValidation', async (request) => {
      const token = request.headers['x-session']
      const session = api.sessions.verify(typeof token === 'string' ? token : undefined)
      if (!session)
        throw Errors.unauthorized('the session is missing, forged or expired: reopen the page from Bitrix24')
      const portal = await api.portals.find(session.m)
      if (!portal || portal.state === 'uninstalled')
        throw Errors.unauthorized('the app is no longer installed on this portal')
      if (request.method !== 'GET') {
        const csrf = request.headers['x-csrf-token']
        if (!api.sessions.checkCsrf(token as string, session.m, typeof csrf === 'string' ? csrf : undefined))
          throw Errors.forbidden('missing or wrong CSRF token')
        if (!session.a && !request.routeOptions.config.readOnly)
          throw Errors.forbidden('only portal administrators can change settings')
      }
      request.session = session
      request.portal = portal
    })
  },
  { name: 'settings-api-guard', dependencies: ['database', 'settings-tab'] },
)

/** The checked session and portal of a settings API call, with the portal's settings. */
export async function settingsContext(
  app: FastifyInstance,
  request: FastifyRequest,
): Promise<{ session: Session; portal: Portal; conf: PortalSettings }> {
  const session = request.session!
  return { session, portal: request.portal!, conf: await app.settings.ensure(session.m) }
}
