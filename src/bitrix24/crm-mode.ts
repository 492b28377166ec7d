import type { FastifyBaseLogger } from 'fastify'
import { type Clock, systemClock } from '../clock.js'
import type { PortalRepository } from '../db/repositories/portals.js'
import type { Portal } from '../db/schema.js'
import type { B24Clients } from './client.js'

/**
 * The portal's CRM mode. New portals run the CRM in "simple mode" with leads turned off: there a
 * lead added by REST is converted at once and the lead list (with its menu placement) is not
 * shown, so the app writes a contact and a deal itself and binds the deal list menu instead.
 * An administrator can switch the mode at any time, and no event says so: the mode is asked at
 * install, before a delivery once the stored answer is older than `maxAgeMs`, and whenever the
 * settings tab opens.
 * @see https://apidocs.bitrix24.com/api-reference/crm/crm-settings-mode-get.html
 * @see https://apidocs.bitrix24.com/tutorials/crm/how-to-add-crm-objects/how-to-add-objects-with-crm-mode.html
 */
export type CrmMode = 1 | 2
export const CLASSIC: CrmMode = 1
export const SIMPLE: CrmMode = 2

/** How old a stored mode may be before a delivery asks again (a mode switch is rare; one call per portal per 10 minutes is nothing). */
export const CRM_MODE_MAX_AGE_MS = 10 * 60_000

const FAILED_RETRY_MS = 60_000

export function parseCrmMode(value: unknown): CrmMode | null {
  const n = Number(value)
  return n === 1 || n === 2 ? n : null
}

/** The mode delivery uses: the stored one, classic while none is known (the behaviour before modes existed). */
export function effectiveMode(portal: Pick<Portal, 'crm_mode'>): CrmMode {
  return parseCrmMode(portal.crm_mode) ?? CLASSIC
}

export interface CrmModesDeps {
  b24: B24Clients
  portals: PortalRepository
  log: FastifyBaseLogger
  maxAgeMs?: number
  /** time (app.clock); the system clock when not given */
  clock?: Pick<Clock, 'now'>
}

/** Called after a stored mode changed to another known one (not on the first detection). */
export type ModeChangeListener = (memberId: string, from: CrmMode, to: CrmMode) => Promise<void> | void

export type CrmModes = ReturnType<typeof createCrmModes>

export function createCrmModes(deps: CrmModesDeps) {
  const clock = deps.clock ?? systemClock
  const now = () => clock.now()
  const maxAge = deps.maxAgeMs ?? CRM_MODE_MAX_AGE_MS
  const listeners: ModeChangeListener[] = []
  const inFlight = new Map<string, Promise<CrmMode | null>>()
  // A portal that could not answer is not asked again before every batch: once a minute at most.
  const failedAt = new Map<string, number>()

  /**
   * Ask the portal (one REST call, `paced` through its queue unless the caller already holds a
   * slot; or take `answer`, crm.settings.mode.get's result from a batch the caller made) and store
   * the answer. Null when the portal could not say (the stored mode stays).
   */
  async function detect(memberId: string, opts: { paced?: boolean; answer?: unknown } = {}): Promise<CrmMode | null> {
    const running = inFlight.get(memberId)
    if (running) return running
    const call = (async () => {
      const before = await deps.portals.find(memberId)
      let mode: CrmMode | null
      if (opts.answer !== undefined) {
        // Asked already, in the page open's batch (src/settings/routes.ts).
        mode = parseCrmMode(opts.answer)
      } else
        try {
          const { result } = await deps.b24
            .forPortal(memberId, { paced: opts.paced ?? true, priority: 1 })
            .call<unknown>('crm.settings.mode.get')
          mode = parseCrmMode(result)
        } catch (err) {
          deps.log.warn({ err, memberId }, 'crm.settings.mode.get failed; keeping the stored CRM mode')
          failedAt.set(memberId, now())
          return null
        }
      if (mode === null) return null
      failedAt.delete(memberId)
      await deps.portals.setCrmMode(memberId, mode, now())
      const from = parseCrmMode(before?.crm_mode)
      if (from !== null && from !== mode) {
        deps.log.info({ memberId, from, to: mode }, 'the portal switched its CRM mode')
        // Not awaited: a caller may hold a slot of the portal's queue that a listener's calls
        // (rebinding placements) would wait for.
        for (const l of listeners) {
          void Promise.resolve()
            .then(() => l(memberId, from, mode))
            .catch((err: unknown) => deps.log.warn({ err, memberId }, 'reacting to the CRM mode change failed'))
        }
      }
      return mode
    })().finally(() => inFlight.delete(memberId))
    inFlight.set(memberId, call)
    return call
  }

  return {
    detect,
    /** The mode to deliver with now: the stored one while it is fresh, else asked again (falling back to the stored one). */
    async current(portal: Portal, opts: { paced?: boolean } = {}): Promise<CrmMode> {
      const checked = portal.crm_mode_checked_at ?? 0
      if (parseCrmMode(portal.crm_mode) !== null && now() - checked < maxAge) return effectiveMode(portal)
      if (now() - (failedAt.get(portal.member_id) ?? -Infinity) < FAILED_RETRY_MS) return effectiveMode(portal)
      return (await detect(portal.member_id, opts)) ?? effectiveMode(portal)
    },
    onChange(listener: ModeChangeListener): void {
      listeners.push(listener)
    },
  }
}
