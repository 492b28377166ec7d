import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { Errors } from '../errors.js'

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Constant-time check of `Authorization: Bearer <token>`. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return !!m && timingSafeEqual(digest(m[1]!), digest(token))
}

/**
 * Prometheus metrics (src/plugins/metrics.ts): the lead counts are kept as leads change, the rest
 * is read per scrape from a few small rows, so a scrape costs no pass over the leads.
 * They name every customer's member id, so they need METRICS_TOKEN as a bearer token; without one
 * configured the route does not exist (404): there is nothing a caller could authenticate with.
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/
 * @see https://prometheus.io/docs/prometheus/latest/configuration/configuration/#scrape_config (authorization)
 */
export function metricsRoutes(config: Pick<Config, 'METRICS_TOKEN'>) {
  return async function routes(app: FastifyInstance): Promise<void> {
    // Prometheus text, not JSON: left out of the OpenAPI document.
    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      const token = config.METRICS_TOKEN
      if (!token) throw Errors.notFound()
      if (!bearerMatches(request.headers.authorization, token)) {
        reply.header('www-authenticate', 'Bearer realm="metrics"')
        throw Errors.unauthorized()
      }
      const text = await app.metrics.registry.metrics()
      reply.header('cache-control', 'no-store').type(app.metrics.registry.contentType)
      return text
    })
  }
}
