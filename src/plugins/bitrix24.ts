import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { createB24Clients, type B24Clients } from '../bitrix24/client.js'
import { DEFAULT_RATE_PER_S } from '../bitrix24/limits.js'
import { PortalQueues } from '../bitrix24/portal-queues.js'

declare module 'fastify' {
  interface FastifyInstance {
    b24: B24Clients
    portalQueues: PortalQueues
    /** requests/second each portal may be sent (its plan's drain rate) */
    portalRates: Map<string, number>
  }
}

/** Bitrix24 REST clients, paced per portal by one shared set of queues. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const rates = await app.settings.ratesPerPortal()
    const rateFor = (memberId: string) => rates.get(memberId) ?? DEFAULT_RATE_PER_S
    const queues = new PortalQueues(rateFor, app.clock)
    app.decorate('portalRates', rates)
    app.decorate('portalQueues', queues)
    app.decorate(
      'b24',
      createB24Clients({ config, portals: app.portals, log: app.log, queues, rateFor, clock: app.clock }),
    )
    app.addHook('onClose', async () => queues.close())
  },
  { name: 'bitrix24', dependencies: ['database'] },
)
