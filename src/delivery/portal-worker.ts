import type { FastifyBaseLogger } from 'fastify'
import type { B24Client, B24Clients } from '../bitrix24/client.js'
import { SIMPLE, type CrmMode, type CrmModes } from '../bitrix24/crm-mode.js'
import { DEDUP_BATCH_SIZE, leadsPerBatch, SIMPLE_BATCH_SIZE } from '../bitrix24/limits.js'
import type { PortalQueues } from '../bitrix24/portal-queues.js'
import type { Clock, Timer } from '../clock.js'
import type { LeadRepository } from '../db/repositories/leads.js'
import type { PortalRepository } from '../db/repositories/portals.js'
import type { SettingsRepository } from '../db/repositories/settings.js'
import type { Portal } from '../db/schema.js'
import type { B24Error } from '../errors.js'
import { backoffDelay } from './backoff.js'
import { extrasPerLead, prepareLeads, speedToLeadOf } from './lead-commands.js'
import type { OperatingBudget } from './operating.js'
import type { DispatcherOptions } from './options.js'
import { reconcileStale } from './reconcile.js'
import { lookUpContacts, lookUpDuplicates, sendLeads, sendSimple } from './send.js'
import { ITEM_ADD } from './simple-mode.js'

/** What every portal's worker shares (built once in dispatcher.ts). */
export interface WorkerContext {
  leads: LeadRepository
  settings: SettingsRepository
  portals: PortalRepository
  b24: B24Clients
  queues: PortalQueues
  crmModes: CrmModes
  budget: OperatingBudget
  clock: Clock
  log: FastifyBaseLogger
  options: DispatcherOptions
  /** after a send start, how long before its leads left `sending` are looked up (options.ts) */
  reconcileWait: number
  /** the dispatcher is stopping: claim nothing more */
  stopping(): boolean
}

/** The lead command's method: its operating time is what the portal's budget is kept for. */
export const ADD_METHOD = 'crm.lead.add'

/**
 * One portal's delivery: claims due leads, sends them as one `batch` through the portal's queue
 * and records each lead's outcome (send.ts, outcomes.ts), looks up leads whose outcome is unknown
 * (reconcile.ts), and keeps the portal's pause and operating-limit hold for the settings tab.
 */
export class PortalWorker {
  readonly log: FastifyBaseLogger
  running: Promise<void> | null = null
  again = false
  #timer: Timer | null = null
  #timerAt = Infinity
  /** ids in a batch whose request is in flight in this process: never reconciled from under it */
  readonly inFlight = new Set<number>()
  readonly loops = new Set<Promise<void>>()
  reconciling = false
  /** consecutive whole-request failures of the portal (not of a lead) */
  portalFailures = 0
  /** the portal's delivery is paused after such a failure: shown in the settings tab */
  pause: { reason: string; until: number; since: number } | null = null
  /** Bitrix24's operating limit holds a method until `until` (shown in the settings tab) */
  limited: { method: string; until: number } | null = null
  /** the portal's CRM mode as of this loop: simple mode (leads off) sends a contact and a deal per lead */
  mode: CrmMode = 1

  constructor(
    readonly ctx: WorkerContext,
    readonly memberId: string,
  ) {
    this.log = ctx.log.child({ memberId })
  }

  /** The method whose operating time a lead costs in this mode. */
  get addMethod(): string {
    return this.mode === SIMPLE ? ITEM_ADD : ADD_METHOD
  }

  /** The portal's client for code already inside a slot of its queue. */
  client(): B24Client {
    return this.ctx.b24.forPortal(this.memberId, { paced: false })
  }

  now(): number {
    return this.ctx.clock.now()
  }

  wake(): void {
    if (this.ctx.stopping()) return
    if (this.running) {
      this.again = true
      return
    }
    this.running = this.run().finally(() => {
      this.running = null
    })
  }

  wakeAt(at: number): void {
    if (this.ctx.stopping() || at >= this.#timerAt) return
    this.#timer?.cancel()
    this.#timerAt = at
    this.#timer = this.ctx.clock.setTimer(
      () => {
        this.#timer = null
        this.#timerAt = Infinity
        this.wake()
      },
      Math.max(0, at - this.now()),
    )
  }

  cancel(): void {
    this.#timer?.cancel()
    this.#timer = null
    this.#timerAt = Infinity
  }

  async run(): Promise<void> {
    do {
      this.again = false
      this.startLoop()
      while (this.loops.size) await Promise.all([...this.loops])
    } while (this.again && !this.ctx.stopping())
  }

  /**
   * One loop serves a trickle; a second one starts only when a claim comes back full (a backlog),
   * so two loops never race for a single lead and spend two request slots on it.
   */
  startLoop(): void {
    const loop: Promise<void> = this.drain()
      .catch((err) => {
        // The loop must not die: log, and come back later.
        this.log.error({ err }, 'delivery loop failed; retrying in 5 s')
        this.wakeAt(this.now() + 5000)
      })
      .finally(() => this.loops.delete(loop))
    this.loops.add(loop)
  }

  async drain(): Promise<void> {
    const { portals, crmModes, budget, queues } = this.ctx
    while (!this.ctx.stopping()) {
      const portal = await portals.find(this.memberId)
      // Not deliverable now: leads stay stored; install/re-authorisation wakes us again.
      if (!portal || portal.state !== 'active') return
      if (this.pause && this.pause.until > this.now()) {
        this.wakeAt(this.pause.until)
        return
      }
      // Asked again once the stored answer is old: an administrator may switch modes any time.
      this.mode = await crmModes.current(portal)
      if (await reconcileStale(this)) continue
      // The operating budget: wait for the reset instead of sending a batch Bitrix24 would refuse.
      const hold = budget.hold(this.memberId, this.addMethod, this.mode === SIMPLE ? 2 : 1)
      if (hold.ms > 0) {
        // Shown while the limit holds the method, not while answers to batches in flight are awaited.
        this.limited = hold.limited ? { method: this.addMethod, until: this.now() + hold.ms } : null
        this.wakeAt(this.now() + hold.ms)
        return
      }
      this.limited = null
      // Look before taking a slot: an empty claim would spend the portal's request budget.
      if (!(await this.hasDue())) return
      // Claim inside the slot, so leads that arrived while we waited for the budget ride along,
      // and read the settings there too, so they are as fresh as the leads.
      const claimed = await queues.run(this.memberId, () => this.claim(portal))
      if (claimed === null) continue
      if ('contacts' in claimed) {
        if (claimed.contacts)
          await queues.run(this.memberId, () =>
            sendSimple(this, claimed.prepared, claimed.contacts!, claimed.conf, claimed.speed),
          )
        continue
      }
      if (claimed.matches)
        await queues.run(this.memberId, () =>
          sendLeads(this, claimed.prepared, claimed.matches!, claimed.conf, claimed.speed),
        )
    }
  }

  /**
   * Inside a queue slot: claim what the budget allows and prepare it. Without dedup the batch is
   * sent in this same slot; a look-up (duplicates, or contacts in simple mode) takes this slot and
   * the send the next one.
   */
  async claim(portal: Portal) {
    const { settings, budget, leads, options } = this.ctx
    if (this.ctx.stopping()) return null
    const conf = await settings.find(this.memberId)
    if (!conf) return null
    const dedup = conf.dedup_policy !== 'off'
    const simple = this.mode === SIMPLE
    // No more commands than the method's operating time left can take (observed cost per command;
    // two commands per lead in simple mode).
    const perLead = simple ? 2 : 1
    // The speed-to-lead notification and to-do ride in the lead's batch: fewer leads fit (limits.ts).
    // Read from the portal row this loop already has, once, for the sizing and the send alike.
    const speed = speedToLeadOf(conf, portal)
    const extras = extrasPerLead(speed, simple)
    const size = Math.min(
      leadsPerBatch(perLead + extras),
      simple
        ? Math.min(SIMPLE_BATCH_SIZE, Math.max(1, Math.floor(options.batchSize / 2)))
        : dedup
          ? Math.min(DEDUP_BATCH_SIZE, options.batchSize)
          : options.batchSize,
    )
    // Taken commands count as in flight until answered, so a second loop cannot spend them too.
    const taken = budget.take(this.memberId, this.addMethod, size * perLead, perLead)
    const limit = Math.floor(taken / perLead)
    if (limit === 0) return null
    const rows = await leads.claimDue(this.memberId, limit, this.now())
    budget.giveBack(this.memberId, this.addMethod, taken - rows.length * perLead)
    if (rows.length === 0) return null
    if (rows.length === limit && this.loops.size < options.concurrency) this.startLoop()
    const { prepared, failed } = prepareLeads(rows, conf, options.originatorId, portal.lang)
    for (const p of prepared) this.inFlight.add(p.row.id)
    if (failed.length) await leads.markFailed(failed, this.now())
    if (simple) return { prepared, conf, speed, contacts: await lookUpContacts(this, prepared) }
    if (!dedup) {
      await sendLeads(this, prepared, new Map(), conf, speed)
      return null
    }
    return { prepared, conf, speed, matches: await lookUpDuplicates(this, prepared) }
  }

  async hasDue(): Promise<boolean> {
    const due = await this.ctx.leads.nextDueAt(this.memberId)
    if (due === null) return false
    if (due <= this.now()) return true
    this.wakeAt(due)
    return false
  }

  /** A whole request failed because of the portal: count it, and pause the portal's delivery with a backoff. */
  portalFailed(e: B24Error): void {
    this.portalFailures += 1
    const until = this.now() + backoffDelay(this.portalFailures, this.ctx.options.backoff)
    this.pause = { reason: `${e.b24Code}: ${e.message}`, until, since: this.pause?.since ?? this.now() }
    this.wakeAt(until)
  }

  /** A request went through: the portal works again. */
  portalWorks(): void {
    this.portalFailures = 0
    this.pause = null
  }
}
