import fp from 'fastify-plugin'
import { createOfflineDrainer, type DrainResult, type OfflineDrainer } from '../bitrix24/offline-events.js'
import type { Timer } from '../clock.js'
import type { Config } from '../config.js'

export interface OfflineEventsOptions {
  config: Pick<Config, 'B24_OFFLINE_EVENTS_INTERVAL_S'>
  /** false: no start-up pass and no timer (tests call runOnce) */
  schedule?: boolean
}

export interface OfflineEventsService {
  /** One pass over every active portal; a second call while one runs joins it. */
  runOnce(): Promise<Record<string, DrainResult>>
  drainer: OfflineDrainer
}

declare module 'fastify' {
  interface FastifyInstance {
    offlineEvents: OfflineEventsService
  }
}

/**
 * Collects each active portal's offline event queue at start and every
 * B24_OFFLINE_EVENTS_INTERVAL_S, through the portal's request queue (its per-portal budget, at
 * the backlog's priority). A portal that fails is logged and tried again on the next pass; the
 * others go on.
 */
export default fp<OfflineEventsOptions>(
  async (app, { config, schedule = true }) => {
    const drainer = createOfflineDrainer({ leads: app.leads, log: app.log, clock: app.clock, quality: app.quality })
    let running: Promise<Record<string, DrainResult>> | null = null
    let stopped = false

    async function pass(): Promise<Record<string, DrainResult>> {
      const out: Record<string, DrainResult> = {}
      for (const portal of await app.portals.list()) {
        if (stopped) break
        if (portal.state !== 'active' || !portal.access_token) continue
        const memberId = portal.member_id
        try {
          const r = await drainer.drain(app.b24.forPortal(memberId), memberId)
          out[memberId] = r
          if (r.events > 0) app.log.info({ memberId, ...r }, 'offline events collected')
        } catch (err) {
          const e = drainer.classify(err)
          const level = e.kind === 'not_installed' || e.kind === 'reauth_required' ? 'info' : 'warn'
          app.log[level](
            { memberId, code: e.b24Code, kind: e.kind, held: drainer.pendingFor(memberId).length },
            'offline events not collected this pass',
          )
        }
      }
      return out
    }

    function runOnce(): Promise<Record<string, DrainResult>> {
      running ??= pass().finally(() => {
        running = null
      })
      return running
    }

    app.decorate('offlineEvents', { runOnce, drainer })

    let timer: Timer | undefined
    // Every interval of the app's clock, like the setInterval it replaces (a pass that runs long
    // is joined, not doubled: runOnce).
    const every = (ms: number) => {
      timer = app.clock.setTimer(() => {
        void runOnce().catch(() => undefined)
        if (!stopped) every(ms)
      }, ms)
    }
    if (schedule) {
      app.addHook('onReady', async () => {
        // At start: what changed while the app was down.
        void runOnce().catch(() => undefined)
        every(config.B24_OFFLINE_EVENTS_INTERVAL_S * 1000)
      })
    }
    app.addHook('preClose', async () => {
      stopped = true
      timer?.cancel()
      await running?.catch(() => undefined)
    })
  },
  { name: 'offline-events', dependencies: ['database', 'bitrix24', 'quality'] },
)
