import type { FastifyInstance } from 'fastify'
import type { LeadStatus } from '../db/schema.js'

const STATUSES: LeadStatus[] = ['received', 'queued', 'sending', 'delivered', 'duplicate', 'failed']

/** Prometheus text exposition; label values are escaped as the format requires. */
function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/**
 * Prometheus metrics, computed from the database (the row is the truth, and it survives restarts).
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/
 */
export async function metricsRoutes(app: FastifyInstance): Promise<void> {
  app.get('/metrics', async (_req, reply) => {
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
    reply.type('text/plain; version=0.0.4; charset=utf-8')
    return lines.join('\n') + '\n'
  })
}
