import swagger from '@fastify/swagger'
import fp from 'fastify-plugin'
import { jsonSchemaTransform } from 'fastify-type-provider-zod'

/**
 * The JSON API as an OpenAPI document at GET /openapi.json, made from the routes' own zod
 * schemas (so it cannot drift from what the routes accept). Registered before the routes: it
 * collects them as they are added. HTML pages and static files are left out (`hide`).
 * @see https://github.com/fastify/fastify-swagger#dynamic
 */
export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'TikTok Leads for Bitrix24',
          description:
            'The TikTok lead webhook, the Bitrix24 event handler and the settings tab API. Settings calls carry the ' +
            "page's session token in X-Session and, on every change, its CSRF token in X-CSRF-Token.",
          // the API's own version: bumped when a route or schema changes incompatibly
          version: '1',
        },
        components: {
          securitySchemes: {
            session: { type: 'apiKey', in: 'header', name: 'X-Session' },
            csrf: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token' },
          },
        },
      },
      transform: jsonSchemaTransform,
    })
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  },
  { name: 'openapi' },
)
