import type { FastifyBaseLogger } from 'fastify'
import type { B24Clients } from '../bitrix24/client.js'
import { createCrmModes, type CrmModes } from '../bitrix24/crm-mode.js'
import type { PortalQueues } from '../bitrix24/portal-queues.js'
import { type Clock, systemClock } from '../clock.js'
import type { LeadRepository } from '../db/repositories/leads.js'
import type { PortalRepository } from '../db/repositories/portals.js'
import type { SettingsRepository } from '../db/repositories/settings.js'
import { type DispatcherOptions, operatingBudgetOf, reconcileWaitOf } from './options.js'
import { PortalWorker, type WorkerContext } from './portal-worker.js'

export type { DispatcherOptions } from './options.js'

export interface DispatcherDeps {
  leads: LeadRepository
  settings: SettingsRepository
  portals: PortalRepository
  b24: B24Clients
  queues: PortalQueues
  log: FastifyBaseLogger
  options: DispatcherOptions
  /** time and timers (app.clock); the system clock when not given */
  clock?: Clock
  /** the portals' CRM modes; made here when not given */
  crmModes?: CrmModes
}

export type Dispatcher = ReturnType<typeof createDispatcher>

/**
 * Moves stored leads into Bitrix24: per portal, claims up to 50 due leads, sends them as one
 * `batch` of `crm.lead.add` (halt=0) through the portal's rate-limited queue, and records each
 * command's own outcome. Portals run independently (one PortalWorker each, portal-worker.ts), so
 * one slow or broken portal delays no other.
 */
export function createDispatcher(deps: DispatcherDeps) {
  const { leads, options } = deps
  const clock = deps.clock ?? systemClock
  const workers = new Map<string, PortalWorker>()
  const crmModes =
    deps.crmModes ??
    createCrmModes({
      b24: deps.b24,
      portals: deps.portals,
      log: deps.log,
      clock,
      ...(options.crmModeMaxAgeMs !== undefined ? { maxAgeMs: options.crmModeMaxAgeMs } : {}),
    })
  let stopping = false
  const ctx: WorkerContext = {
    leads,
    settings: deps.settings,
    portals: deps.portals,
    b24: deps.b24,
    queues: deps.queues,
    crmModes,
    budget: operatingBudgetOf(options, clock),
    clock,
    log: deps.log,
    options,
    reconcileWait: reconcileWaitOf(options),
    stopping: () => stopping,
  }

  function worker(memberId: string): PortalWorker {
    let w = workers.get(memberId)
    if (!w) {
      w = new PortalWorker(ctx, memberId)
      workers.set(memberId, w)
    }
    return w
  }

  return {
    /** New leads (or a re-authorised portal): deliver what is due. */
    notify(memberId: string): void {
      worker(memberId).wake()
    },
    /** At start: pick up every portal with pending or in-flight leads (a crash leaves `sending` rows). */
    async start(): Promise<void> {
      stopping = false
      for (const memberId of await leads.portalsWithWork()) worker(memberId).wake()
    },
    /** Stop claiming; let in-flight batches finish and record their outcome. */
    async stop(): Promise<void> {
      stopping = true
      for (const w of workers.values()) w.cancel()
      await Promise.all([...workers.values()].map((w) => w.running))
    },
    /** The portals' CRM modes (detected at install, re-checked before deliveries and when the tab opens). */
    crmModes,
    /** Bitrix24's operating limit is holding the portal's leads until `until`, or null. */
    limitOf(memberId: string): { method: string; until: number } | null {
      const l = workers.get(memberId)?.limited ?? null
      return l && l.until > clock.now() ? l : null
    },
    /** Why the portal's delivery is paused right now (a failure of the portal, not of a lead), or null. */
    pauseOf(memberId: string): { reason: string; until: number; since: number } | null {
      return workers.get(memberId)?.pause ?? null
    },
    forget(memberId: string): void {
      workers.get(memberId)?.cancel()
      workers.delete(memberId)
    },
  }
}
