import fp from 'fastify-plugin'
import { manifest } from '../../manifest/app.js'
import { MAX_BATCH_COMMANDS, MAX_REQUEST_S } from '../bitrix24/limits.js'
import { DEFAULT_BACKOFF } from '../delivery/backoff.js'
import { createDispatcher, type Dispatcher, type DispatcherOptions } from '../delivery/dispatcher.js'

declare module 'fastify' {
  interface FastifyInstance {
    dispatcher: Dispatcher
  }
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = {
  batchSize: MAX_BATCH_COMMANDS,
  concurrency: 2,
  reconcileAfterMs: 10_000,
  requestMayRunMs: MAX_REQUEST_S * 1000,
  backoff: DEFAULT_BACKOFF,
  originatorId: manifest.code,
}

/** The delivery loop: starts when the app is ready, stops (letting in-flight batches finish) before the database closes. */
export default fp<{ options?: Partial<DispatcherOptions>; autoStart?: boolean }>(
  async (app, { options, autoStart = true }) => {
    const dispatcher = createDispatcher({
      leads: app.leads,
      settings: app.settings,
      portals: app.portals,
      b24: app.b24,
      queues: app.portalQueues,
      log: app.log,
      clock: app.clock,
      options: { ...DEFAULT_DISPATCHER_OPTIONS, ...options },
    })
    app.decorate('dispatcher', dispatcher)
    if (autoStart) app.addHook('onReady', async () => dispatcher.start())
    app.addHook('preClose', async () => dispatcher.stop())
  },
  { name: 'delivery', dependencies: ['database', 'bitrix24'] },
)
