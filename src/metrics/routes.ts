import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import type { LeadStatus } from '../db/schema.js'

const STATUSES: LeadStatus[] = ['received', 'queued', 'sending', 'delivered', 'duplicate', 'failed']
/** One rendering serves every scrape for this long, so scraping never costs more than one pass per interval. */
const RENDER_TTL_MS = 10_000

/** Prometheus text exposition; label values are escaped as the format requires. */
function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Constant-time check of `Authorization: Bearer <token>`. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return !!m && timingSafeEqual(digest(m[1]!), digest(token))
}

/**
 * Prometheus metrics, computed from the database (the row is the truth, and it survives restarts).
 * They name every customer's member id, so they need METRICS_TOKEN as a bearer token; without one
 * configured the route does not exist (404): there is nothing a caller could authenticate with.
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/
 * @see https://prometheus.io/docs/prometheus/latest/configuration/configuration/#scrape_config (authorization)
 */
export function metricsRoutes(config: Pick<Config, 'METRICS_TOKEN'>) {
  return async function routes(app: FastifyInstance): Promise<void> {
    let rendered: { text: string; until: number } | null = null

    async function render(): Promise<string> {
      const [counts, portals] = await Promise.all([app.leads.countsAllPortals(), app.portals.list()])
      const lines: string[] = []
      lines.push('# HELP tiktok_leads_total Leads by portal and delivery status.', '# TYPE tiktok_leads_total gauge')
      const seen = new Map<string, Map<string, number>>()
      for (const c of counts) {
        if (!seen.has(c.member_id)) seen.set(c.member_id, new Map())
        seen.get(c.member_id)!.set(c.status, c.n)
      }
      for (const [memberId, byStatus] of seen) {
        for (const s of STATUSES) lines.push(`tiktok_leads_total{member_id="${label(memberId)}",status="${s}"} ${byStatus.get(s) ?? 0}`)
      }
      lines.push('# HELP b24_portal_state Installed portals by state (1 = in this state).', '# TYPE b24_portal_state gauge')
      for (const p of portals) lines.push(`b24_portal_state{member_id="${label(p.member_id)}",state="${p.state}"} 1`)
      lines.push('# HELP b24_queue_pending REST requests waiting in a portal\'s rate-limited queue.', '# TYPE b24_queue_pending gauge')
      for (const p of portals) lines.push(`b24_queue_pending{member_id="${label(p.member_id)}"} ${app.portalQueues.pending(p.member_id)}`)
      lines.push('# HELP tiktok_connection_state Connected TikTok ad accounts by health state (1 = in this state).', '# TYPE tiktok_connection_state gauge')
      for (const c of await app.tiktok.repo.allConnections()) lines.push(`tiktok_connection_state{member_id="${label(c.member_id)}",advertiser_id="${label(c.advertiser_id)}",state="${c.status}"} 1`)
      lines.push('# HELP tiktok_unsubscribe_pending TikTok subscriptions waiting to be cancelled.', '# TYPE tiktok_unsubscribe_pending gauge')
      lines.push(`tiktok_unsubscribe_pending ${await app.tiktok.repo.pendingUnsubscribes()}`)
      return lines.join('\n') + '\n'
    }

    app.get('/metrics', async (request, reply) => {
      const token = config.METRICS_TOKEN
      if (!token) return reply.code(404).send({ error: 'APP_ERR_NOT_FOUND', message: 'Not found' })
      if (!bearerMatches(request.headers.authorization, token)) {
        return reply.code(401).header('www-authenticate', 'Bearer realm="metrics"').send({ error: 'APP_ERR_UNAUTHORIZED', message: 'Not authorised' })
      }
      const now = Date.now()
      if (!rendered || rendered.until <= now) rendered = { text: await render(), until: now + RENDER_TTL_MS }
      reply.header('cache-control', 'no-store').type('text/plain; version=0.0.4; charset=utf-8')
      return rendered.text
    })
  }
}
