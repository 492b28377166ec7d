import fp from 'fastify-plugin'
import { Counter, Gauge, Registry } from 'prom-client'
import { manifest } from '../../manifest/app.js'
import { LEAD_STATUSES } from '../metrics/lead-counts.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** this app's Prometheus registry (one per app: tests build many apps in one process) */
    metrics: { registry: Registry; webhookRequests: Counter<'outcome'> }
  }
}

/** What a webhook answer's status means, for tiktok_webhook_requests_total. */
const OUTCOMES: Record<number, string> = {
  200: 'accepted',
  400: 'bad_request',
  401: 'unauthorized',
  404: 'unknown_key',
  413: 'too_large',
  415: 'unsupported_media_type',
  429: 'budget_exceeded',
  503: 'unavailable',
}

/**
 * The Prometheus metrics (prom-client), served by /metrics (src/metrics/routes.ts). The lead gauge
 * reads the counts the lead repository keeps as it writes (app.leadCounts): a scrape never counts
 * the leads table. The small ones are read at scrape time: the portals' states and the TikTok
 * connections (a few rows each), the queues' depth (in memory), the outbox (one count).
 * Registered before the routes: its onResponse hook counts the webhook's answers by outcome.
 * @see https://github.com/siimon/prom-client
 */
export default fp(
  async (app) => {
    const registry = new Registry()
    const leads = app.leadCounts
    const db = app.db

    new Gauge({
      name: 'tiktok_leads_total',
      help: 'Leads by portal and delivery status.',
      labelNames: ['member_id', 'status'] as const,
      registers: [registry],
      collect() {
        this.reset()
        for (const [memberId, byStatus] of leads.entries()) {
          for (const status of LEAD_STATUSES) this.set({ member_id: memberId, status }, byStatus[status])
        }
      },
    })

    const portalStates = async () =>
      db.selectFrom('portals').select(['member_id', 'state']).orderBy('installed_at').execute()
    new Gauge({
      name: 'b24_portal_state',
      help: 'Installed portals by state (1 = in this state).',
      labelNames: ['member_id', 'state'] as const,
      registers: [registry],
      async collect() {
        const rows = await portalStates()
        this.reset()
        for (const p of rows) this.set({ member_id: p.member_id, state: p.state }, 1)
      },
    })
    new Gauge({
      name: 'b24_queue_pending',
      help: "REST requests waiting in a portal's rate-limited queue.",
      labelNames: ['member_id'] as const,
      registers: [registry],
      async collect() {
        const rows = await portalStates()
        this.reset()
        for (const p of rows) this.set({ member_id: p.member_id }, app.portalQueues.pending(p.member_id))
      },
    })
    new Gauge({
      name: 'tiktok_connection_state',
      help: 'Connected TikTok ad accounts by health state (1 = in this state).',
      labelNames: ['member_id', 'advertiser_id', 'state'] as const,
      registers: [registry],
      async collect() {
        const rows = await db
          .selectFrom('tiktok_connections')
          .select(['member_id', 'advertiser_id', 'status'])
          .execute()
        this.reset()
        for (const c of rows) this.set({ member_id: c.member_id, advertiser_id: c.advertiser_id, state: c.status }, 1)
      },
    })
    new Gauge({
      name: 'tiktok_unsubscribe_pending',
      help: 'TikTok subscriptions waiting to be cancelled.',
      registers: [registry],
      async collect() {
        this.set(await app.tiktok.repo.pendingUnsubscribes())
      },
    })
    const webhookRequests = new Counter({
      name: 'tiktok_webhook_requests_total',
      help: 'TikTok webhook requests answered, by outcome (accepted, unknown_key, unauthorized, budget_exceeded, ...).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    })
    for (const outcome of new Set(Object.values(OUTCOMES))) webhookRequests.inc({ outcome }, 0)

    app.decorate('metrics', { registry, webhookRequests })
    app.addHook('onResponse', (request, reply, done) => {
      if (request.routeOptions.url === manifest.paths.tiktokWebhook) {
        webhookRequests.inc({
          outcome: OUTCOMES[reply.statusCode] ?? (reply.statusCode >= 500 ? 'error' : `http_${reply.statusCode}`),
        })
      }
      done()
    })
  },
  { name: 'metrics', dependencies: ['database', 'bitrix24', 'tiktok'] },
)
