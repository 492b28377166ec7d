import type { FastifyBaseLogger } from 'fastify'
import { B24Error, type B24Clients, type B24Client } from '../bitrix24/client.js'
import { createCrmModes, SIMPLE, type CrmMode, type CrmModes } from '../bitrix24/crm-mode.js'
import type { LeadRepository } from '../db/repositories/leads.js'
import type { PortalRepository } from '../db/repositories/portals.js'
import type { SettingsRepository } from '../db/repositories/settings.js'
import type { Lead, PortalSettings } from '../db/schema.js'
import { backoffDelay, type BackoffOptions } from './backoff.js'
import { decide, findDuplicates, type DuplicateMatch } from './dedup.js'
import { leadCommand, prepareLeads, type LeadCommand, type PreparedLead } from './lead-commands.js'
import {
  DEDUP_BATCH_SIZE,
  MAX_REQUEST_S,
  OPERATING_BASKET_MS,
  OPERATING_LIMIT_S,
  SIMPLE_BATCH_SIZE,
} from '../bitrix24/limits.js'
import type { PortalQueues } from '../bitrix24/portal-queues.js'
import { OperatingBudget, operatingOf } from './operating.js'
import {
  buildSimpleBatch,
  findContacts,
  ITEM_ADD,
  readSimpleBatch,
  reconcileSimple,
  type SimpleOutcome,
} from './simple-mode.js'

export interface DispatcherOptions {
  /** commands per `batch` call; Bitrix24 allows at most MAX_BATCH_COMMANDS (50) */
  batchSize: number
  /** batches a portal may have in flight at once (each still starts through the portal's queue) */
  concurrency: number
  /** how long after an unknown outcome (timeout, reset, 5xx) we wait before asking Bitrix24 what happened */
  reconcileAfterMs: number
  /**
   * How long a request may still be executing on the portal after it was sent: max(our timeout,
   * Bitrix24's own cutoff). A lead of an unknown-outcome batch is looked up no earlier than its
   * send start + this + a margin, so the look-up never races a batch that is still running.
   * @see https://apidocs.bitrix24.com/settings/performance/limits.html
   */
  requestMayRunMs?: number
  /** keep each method's operating time (server seconds in Bitrix24's 10-minute window) under this; 480 is Bitrix24's limit */
  operatingLimitSec?: number
  /** one of the window's baskets, ms (60 s on Bitrix24): the wait after a refusal when no reset time is known */
  operatingBasketMs?: number
  backoff: BackoffOptions
  /** ORIGINATOR_ID written on every lead: with ORIGIN_ID it is how a sent lead is found again */
  originatorId: string
  /** how old the stored CRM mode (crm.settings.mode.get) may be before a delivery asks again; default 10 min */
  crmModeMaxAgeMs?: number
}

export interface DispatcherDeps {
  leads: LeadRepository
  settings: SettingsRepository
  portals: PortalRepository
  b24: B24Clients
  queues: PortalQueues
  log: FastifyBaseLogger
  options: DispatcherOptions
  now?: () => number
  /** the portals' CRM modes; made here when not given */
  crmModes?: CrmModes
}

// Command-level errors after which the same command may well succeed later.
const TRANSIENT_COMMAND_ERRORS = new Set([
  'QUERY_LIMIT_EXCEEDED',
  'INTERNAL_SERVER_ERROR',
  'ERROR_CORE',
  'PAYMENT_REQUIRED',
])
/** The lead command's method: its operating time is what the portal's budget is kept for. */
const ADD_METHOD = 'crm.lead.add'

export type Dispatcher = ReturnType<typeof createDispatcher>

/**
 * Moves stored leads into Bitrix24: per portal, claims up to 50 due leads, sends them as one
 * `batch` of `crm.lead.add` (halt=0) through the portal's rate-limited queue, and records each
 * command's own outcome. Portals run independently, so one slow or broken portal delays no other.
 */
export function createDispatcher(deps: DispatcherDeps) {
  const { leads, portals, settings, b24, queues, options } = deps
  const now = deps.now ?? Date.now
  const workers = new Map<string, PortalWorker>()
  const crmModes =
    deps.crmModes ??
    createCrmModes({
      b24,
      portals,
      log: deps.log,
      now,
      ...(options.crmModeMaxAgeMs !== undefined ? { maxAgeMs: options.crmModeMaxAgeMs } : {}),
    })
  // A lead left `sending` is dated at its send start (the claim): look it up once the request
  // cannot be running any more (plus a margin for clocks and the answer in transit).
  const mayRun = options.requestMayRunMs ?? 0
  // operating_reset_at is whole seconds: wait one more so the basket has really left; a batch
  // with no answer counts against the budget for as long as it may still be running.
  const budget = new OperatingBudget(
    {
      limitSec: options.operatingLimitSec ?? OPERATING_LIMIT_S,
      basketMs: options.operatingBasketMs ?? OPERATING_BASKET_MS,
      resetSlackMs: 1000,
      pendingTtlMs: (mayRun || MAX_REQUEST_S * 1000) + 1000,
    },
    now,
  )
  const reconcileWait = Math.max(options.reconcileAfterMs, mayRun ? mayRun + Math.max(1000, mayRun / 10) : 0)
  let stopping = false

  class PortalWorker {
    readonly log: FastifyBaseLogger
    running: Promise<void> | null = null
    again = false
    timer: NodeJS.Timeout | null = null
    timerAt = Infinity
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

    /** The method whose operating time a lead costs in this mode. */
    get addMethod(): string {
      return this.mode === SIMPLE ? ITEM_ADD : ADD_METHOD
    }

    constructor(readonly memberId: string) {
      this.log = deps.log.child({ memberId })
    }

    wake(): void {
      if (stopping) return
      if (this.running) {
        this.again = true
        return
      }
      this.running = this.run().finally(() => {
        this.running = null
      })
    }

    wakeAt(at: number): void {
      if (stopping || at >= this.timerAt) return
      if (this.timer) clearTimeout(this.timer)
      this.timerAt = at
      this.timer = setTimeout(
        () => {
          this.timer = null
          this.timerAt = Infinity
          this.wake()
        },
        Math.max(0, at - now()),
      )
      this.timer.unref()
    }

    cancel(): void {
      if (this.timer) clearTimeout(this.timer)
      this.timer = null
      this.timerAt = Infinity
    }

    async run(): Promise<void> {
      do {
        this.again = false
        this.startLoop()
        while (this.loops.size) await Promise.all([...this.loops])
      } while (this.again && !stopping)
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
          this.wakeAt(now() + 5000)
        })
        .finally(() => this.loops.delete(loop))
      this.loops.add(loop)
    }

    async drain(): Promise<void> {
      while (!stopping) {
        const portal = await portals.find(this.memberId)
        // Not deliverable now: leads stay stored; install/re-authorisation wakes us again.
        if (!portal || portal.state !== 'active') return
        if (this.pause && this.pause.until > now()) {
          this.wakeAt(this.pause.until)
          return
        }
        // Asked again once the stored answer is old: an administrator may switch modes any time.
        this.mode = await crmModes.current(portal)
        if (await this.reconcileStale()) continue
        // The operating budget: wait for the reset instead of sending a batch Bitrix24 would refuse.
        const hold = budget.hold(this.memberId, this.addMethod, this.mode === SIMPLE ? 2 : 1)
        if (hold.ms > 0) {
          // Shown while the limit holds the method, not while answers to batches in flight are awaited.
          this.limited = hold.limited ? { method: this.addMethod, until: now() + hold.ms } : null
          this.wakeAt(now() + hold.ms)
          return
        }
        this.limited = null
        // Look before taking a slot: an empty claim would spend the portal's request budget.
        if (!(await this.hasDue())) return
        // Claim inside the slot, so leads that arrived while we waited for the budget ride along,
        // and read the settings there too, so they are as fresh as the leads.
        const claimed = await queues.run(this.memberId, async () => {
          if (stopping) return null
          const conf = await settings.find(this.memberId)
          if (!conf) return null
          const dedup = conf.dedup_policy !== 'off'
          const simple = this.mode === SIMPLE
          const size = simple
            ? Math.min(SIMPLE_BATCH_SIZE, Math.max(1, Math.floor(options.batchSize / 2)))
            : dedup
              ? Math.min(DEDUP_BATCH_SIZE, options.batchSize)
              : options.batchSize
          // No more commands than the method's operating time left can take (observed cost per command;
          // two commands per lead in simple mode).
          const perLead = simple ? 2 : 1
          // Taken commands count as in flight until answered, so a second loop cannot spend them too.
          const taken = budget.take(this.memberId, this.addMethod, size * perLead, perLead)
          const limit = Math.floor(taken / perLead)
          if (limit === 0) return null
          const rows = await leads.claimDue(this.memberId, limit, now())
          budget.giveBack(this.memberId, this.addMethod, taken - rows.length * perLead)
          if (rows.length === 0) return null
          if (rows.length === limit && this.loops.size < options.concurrency) this.startLoop()
          const { prepared, failed } = prepareLeads(rows, conf, options.originatorId, portal.lang)
          for (const p of prepared) this.inFlight.add(p.row.id)
          if (failed.length) await leads.markFailed(failed, now())
          if (simple) return { prepared, conf, contacts: await this.lookUpContacts(prepared) }
          if (!dedup) {
            await this.send(prepared, new Map(), conf)
            return null
          }
          return { prepared, conf, matches: await this.lookUpDuplicates(prepared) }
        })
        if (claimed === null) continue
        if ('contacts' in claimed) {
          if (claimed.contacts)
            await queues.run(this.memberId, () => this.sendSimple(claimed.prepared, claimed.contacts!, claimed.conf))
          continue
        }
        if (claimed.matches)
          await queues.run(this.memberId, () => this.send(claimed.prepared, claimed.matches!, claimed.conf))
      }
    }

    async hasDue(): Promise<boolean> {
      const due = await leads.nextDueAt(this.memberId)
      if (due === null) return false
      if (due <= now()) return true
      this.wakeAt(due)
      return false
    }

    /** Duplicate look-up for a dedup portal; on failure the leads go back to the queue (nothing was written). */
    async lookUpDuplicates(prepared: PreparedLead[]): Promise<Map<number, DuplicateMatch> | null> {
      try {
        return await findDuplicates(
          b24.forPortal(this.memberId, { paced: false }),
          prepared.map((p) => ({ id: p.row.id, fields: p.fields })),
        )
      } catch (err) {
        const e = err instanceof B24Error ? err : new B24Error('UNKNOWN', 0, 'transient', String(err))
        // A look-up changes nothing in Bitrix24, so even an unknown outcome is safe to repeat.
        await this.handleBatchError(
          prepared.map((p) => p.row),
          e.kind === 'outcome_unknown' ? new B24Error(e.code, e.status, 'transient', e.message) : e,
        )
        for (const p of prepared) this.inFlight.delete(p.row.id)
        return null
      }
    }

    /**
     * Simple mode: existing contacts with the leads' phones/e-mails (a lead whose contact an earlier
     * attempt made needs no look-up); on failure the leads go back to the queue (nothing was written).
     */
    async lookUpContacts(prepared: PreparedLead[]): Promise<Map<number, number[]> | null> {
      try {
        return await findContacts(
          b24.forPortal(this.memberId, { paced: false }),
          prepared.filter((p) => p.row.b24_contact_id === null),
        )
      } catch (err) {
        const e = err instanceof B24Error ? err : new B24Error('UNKNOWN', 0, 'transient', String(err))
        await this.handleBatchError(
          prepared.map((p) => p.row),
          e.kind === 'outcome_unknown' ? new B24Error(e.code, e.status, 'transient', e.message) : e,
        )
        for (const p of prepared) this.inFlight.delete(p.row.id)
        return null
      }
    }

    /** Simple mode: a contact and a deal per lead in one batch (simple-mode.ts), each lead's outcome recorded. Runs inside a queue slot. */
    async sendSimple(prepared: PreparedLead[], contacts: Map<number, number[]>, conf: PortalSettings): Promise<void> {
      const started = now()
      const { commands, plans, skipped } = buildSimpleBatch(prepared, contacts, conf.dedup_policy)
      // Two commands were taken per lead; a reused contact or a skipped lead sends fewer.
      budget.giveBack(this.memberId, ITEM_ADD, prepared.length * 2 - Object.keys(commands).length)
      try {
        if (skipped.length) await leads.markDuplicate(skipped, now())
        if (plans.length === 0) return
        let res
        try {
          res = await b24.forPortal(this.memberId, { paced: false }).batch(commands, false)
        } catch (err) {
          const e = err instanceof B24Error ? err : new B24Error('UNKNOWN', 0, 'outcome_unknown', String(err))
          await this.handleBatchError(
            plans.map((p) => p.row),
            e,
            started,
          )
          return
        }
        this.portalWorks()
        const times = (res.result_time ?? {}) as Record<string, unknown>
        for (const key of Object.keys(commands)) {
          const time = operatingOf(times[key])
          if (time)
            budget.observe(
              this.memberId,
              ITEM_ADD,
              time,
              time.duration !== null ? { commands: 1, costSec: time.duration } : undefined,
            )
        }
        const outcomes = readSimpleBatch(
          plans,
          res.result as Record<string, unknown>,
          res.result_error as Record<string, { error?: string; error_description?: string }>,
          (code) => TRANSIENT_COMMAND_ERRORS.has(code),
        )
        const by = (kind: SimpleOutcome['kind']) =>
          plans.filter((p) => outcomes.get(p.row.id)?.kind === kind).map((p) => p.row)
        // A contact made without its deal is kept on the lead: the next attempt binds to it.
        const madeContacts = plans.flatMap((p) => {
          const o = outcomes.get(p.row.id)!
          return o.kind !== 'delivered' && o.contactId !== null && p.row.b24_contact_id !== o.contactId
            ? [{ id: p.row.id, contactId: o.contactId }]
            : []
        })
        await leads.setContactIds(madeContacts)
        const t = now()
        const delivered = plans.flatMap((p) => {
          const o = outcomes.get(p.row.id)!
          return o.kind === 'delivered' ? [{ id: p.row.id, b24LeadId: o.dealId, b24ContactId: o.contactId }] : []
        })
        await leads.markDelivered(delivered, t, { entity: 'deal' })
        await leads.markFailed(
          plans.flatMap((p) => {
            const o = outcomes.get(p.row.id)!
            return o.kind === 'failed' ? [{ id: p.row.id, error: o.error }] : []
          }),
          t,
        )
        await this.requeue(by('retry'), 'Bitrix24 asked to retry this lead later')
        const limited = by('limited')
        if (limited.length) await this.operatingRefused(limited, ITEM_ADD)
        const unknown = by('unknown').map((r) => r.id)
        if (unknown.length) {
          await leads.requeueUnknown(
            unknown,
            'the batch answer did not mention this deal; checking Bitrix24 before re-sending',
            started,
          )
          this.wakeAt(started + reconcileWait)
        }
        this.log.info(
          {
            sent: plans.length,
            commands: Object.keys(commands).length,
            delivered: delivered.length,
            contactsReused: plans.filter((p) => p.contactId !== null).length,
            ms: t - started,
          },
          'simple-mode batch sent (contacts and deals)',
        )
      } finally {
        for (const p of prepared) this.inFlight.delete(p.row.id)
      }
    }

    /** Send prepared leads as one batch and record each command's outcome. Runs inside a queue slot. */
    async send(prepared: PreparedLead[], matches: Map<number, DuplicateMatch>, conf: PortalSettings): Promise<void> {
      const rowIds = prepared.map((p) => p.row.id)
      try {
        const skipped: Array<{ id: number; b24LeadId: number | null; duplicateOf: string }> = []
        const commands: LeadCommand[] = []
        for (const p of prepared) {
          const decision = decide(conf.dedup_policy, matches.get(p.row.id))
          if (decision.action === 'skip')
            skipped.push({ id: p.row.id, b24LeadId: decision.existingLeadId, duplicateOf: decision.duplicateOf })
          const cmd = leadCommand(p, decision)
          if (cmd) commands.push(cmd)
        }
        if (skipped.length) await leads.markDuplicate(skipped, now())
        if (commands.length) await this.sendCommands(commands)
      } finally {
        for (const id of rowIds) this.inFlight.delete(id)
      }
    }

    async sendCommands(commands: LeadCommand[]): Promise<void> {
      const client = b24.forPortal(this.memberId, { paced: false })
      const started = now()
      try {
        const res = await client.batch(Object.fromEntries(commands.map((c) => [c.key, c.command])), false)
        this.portalWorks()
        const delivered: Array<{ id: number; b24LeadId: number }> = []
        const updated: Array<{ id: number; b24LeadId: number; duplicateOf: string }> = []
        const failed: Array<{ id: number; error: string }> = []
        const retry: Lead[] = []
        const limited: Lead[] = []
        const unknown: number[] = []
        const results = res.result as Record<string, unknown>
        const errors = res.result_error as Record<string, { error?: string; error_description?: string }>
        const times = (res.result_time ?? {}) as Record<string, unknown>
        for (const cmd of commands) {
          const value = results[cmd.key]
          const err = errors[cmd.key]
          const time = operatingOf(times[cmd.key])
          if (time)
            budget.observe(
              this.memberId,
              methodOf(cmd.command),
              time,
              time.duration !== null ? { commands: 1, costSec: time.duration } : undefined,
            )
          if (err && String(err.error ?? '') === 'OPERATION_TIME_LIMIT') {
            limited.push(cmd.row)
            continue
          }
          if (cmd.updates && (value === true || value === 'true' || value === 1)) {
            updated.push({
              id: cmd.row.id,
              b24LeadId: cmd.updates.leadId,
              duplicateOf: `updated ${cmd.updates.duplicateOf}`,
            })
          } else if (!cmd.updates && Number.isInteger(Number(value)) && Number(value) > 0) {
            delivered.push({ id: cmd.row.id, b24LeadId: Number(value) })
          } else if (err) {
            const code = String(err.error ?? '')
            if (TRANSIENT_COMMAND_ERRORS.has(code)) retry.push(cmd.row)
            else
              failed.push({
                id: cmd.row.id,
                error: `${code || 'error'}: ${err.error_description ?? 'Bitrix24 refused the lead'}`,
              })
          } else unknown.push(cmd.row.id)
        }
        const t = now()
        await leads.markDelivered(delivered, t)
        if (updated.length) await leads.markDuplicate(updated, t)
        await leads.markFailed(failed, t)
        await this.requeue(retry, 'Bitrix24 asked to retry this lead later')
        if (limited.length) await this.operatingRefused(limited, ADD_METHOD)
        if (unknown.length) {
          await leads.requeueUnknown(
            unknown,
            'the batch answer did not mention this lead; checking Bitrix24 before re-sending',
            started,
          )
          this.wakeAt(started + reconcileWait)
        }
        this.log.info(
          {
            sent: commands.length,
            delivered: delivered.length,
            updated: updated.length,
            failed: failed.length,
            retry: retry.length,
            ms: t - started,
          },
          'batch sent',
        )
      } catch (err) {
        const e = err instanceof B24Error ? err : new B24Error('UNKNOWN', 0, 'outcome_unknown', String(err))
        await this.handleBatchError(
          commands.map((c) => c.row),
          e,
          started,
        )
      }
    }

    async handleBatchError(rows: Lead[], e: B24Error, started = now()): Promise<void> {
      const ids = rows.map((r) => r.id)
      const reason = `${e.code}: ${e.message}`
      this.log.warn({ code: e.code, kind: e.kind, leads: ids.length }, 'batch failed')
      if (e.code === 'OPERATION_TIME_LIMIT') {
        // The whole request refused by the operating limit: the outer batch is not counted, its
        // commands are, so it is the add method's budget that is spent.
        await this.operatingRefused(rows, this.addMethod)
        return
      }
      switch (e.kind) {
        case 'rate_limited':
          // Not executed by Bitrix24: safe to send again after a pause.
          await this.requeue(rows, reason)
          return
        case 'transient':
          // Not executed, and the portal's failure (could not connect, a 404 page), not the leads':
          // the portal's delivery pauses with the reason shown, the leads keep their place.
          await this.portalFailed(e)
          await this.requeue(rows, reason)
          return
        case 'reauth_required':
        case 'not_installed':
          // Nothing was sent; the leads wait for the portal to be re-authorised (the client marks
          // it), with a backoff so a portal still marked active is not asked again at once.
          await this.portalFailed(e)
          await this.requeue(rows, reason)
          return
        case 'outcome_unknown':
          await this.portalFailed(e)
          // Bitrix24 may have created some of them: ask it (by ORIGIN_ID) before sending again.
          // Dated at the send start: the look-up waits until the batch can no longer be running.
          await leads.requeueUnknown(ids, `${reason} (outcome unknown; will check Bitrix24 before re-sending)`, started)
          this.wakeAt(started + reconcileWait)
          return
        case 'permanent':
          await leads.markFailed(
            rows.map((r) => ({ id: r.id, error: reason })),
            now(),
          )
      }
    }

    /**
     * Bitrix24's operating limit refused `method`: hold only that method for this portal until the
     * reset the last answer named (then each later one), and put the leads back for then without
     * counting an attempt: they were not run, and waiting is all that helps.
     */
    async operatingRefused(rows: Lead[], method: string): Promise<void> {
      const until = budget.refused(this.memberId, method)
      this.limited = { method, until }
      await leads.requeue(
        rows.map((r) => r.id),
        until,
        `Bitrix24 is limiting this app (OPERATION_TIME_LIMIT on ${method}); sending resumes at ${new Date(until).toISOString()}`,
        now(),
        { notAttempted: true },
      )
      this.log.warn({ method, leads: rows.length, until }, 'operating limit reached; method held until its reset')
      this.wakeAt(until)
    }

    /** A whole request failed because of the portal: count it, and pause the portal's delivery with a backoff. */
    async portalFailed(e: B24Error): Promise<void> {
      this.portalFailures += 1
      const until = now() + backoffDelay(this.portalFailures, options.backoff)
      this.pause = { reason: `${e.code}: ${e.message}`, until, since: this.pause?.since ?? now() }
      this.wakeAt(until)
    }

    /** A request went through: the portal works again. */
    portalWorks(): void {
      this.portalFailures = 0
      this.pause = null
    }

    async requeue(rows: Lead[], reason: string): Promise<void> {
      if (rows.length === 0) return
      const attempts = Math.max(...rows.map((r) => r.attempts))
      const at = Math.max(now() + backoffDelay(attempts, options.backoff), this.pause?.until ?? 0)
      await leads.requeue(
        rows.map((r) => r.id),
        at,
        `${reason} (attempt ${attempts}; next try in ${Math.round((at - now()) / 1000)} s)`,
        now(),
      )
      this.wakeAt(at)
    }

    /**
     * Leads left `sending` by a crash or an unknown outcome: look them up by ORIGIN_ID.
     * Found ones are delivered; the rest go back to the queue. Returns true if it did any work.
     */
    async reconcileStale(): Promise<boolean> {
      if (this.reconciling) return false
      this.reconciling = true
      try {
        const cutoff = now() - reconcileWait
        const sending = (await leads.listSending(this.memberId, 200)).filter((r) => !this.inFlight.has(r.id))
        const stale = sending.filter((r) => r.updated_at <= cutoff).slice(0, options.batchSize)
        const fresh = sending.filter((r) => r.updated_at > cutoff)
        if (fresh.length) this.wakeAt(Math.min(...fresh.map((r) => r.updated_at)) + reconcileWait)
        if (stale.length === 0) return false
        await queues.run(this.memberId, () => this.reconcile(stale))
        return true
      } catch (err) {
        const e = err instanceof B24Error ? err : null
        this.log.warn({ err, code: e?.code }, 'reconciliation failed; retrying later')
        this.wakeAt(now() + backoffDelay(3, options.backoff))
        return false
      } finally {
        this.reconciling = false
      }
    }

    async reconcile(rows: Lead[]): Promise<void> {
      const client: B24Client = b24.forPortal(this.memberId, { paced: false })
      if (this.mode === SIMPLE) return this.reconcileSimple(client, rows)
      const { result } = await client.call<Array<{ ID: string | number; ORIGIN_ID: string }>>('crm.lead.list', {
        // `@` is the documented IN filter: @see https://apidocs.bitrix24.com/api-reference/crm/leads/crm-lead-list.html
        filter: { ORIGINATOR_ID: options.originatorId, '@ORIGIN_ID': rows.map((r) => r.tiktok_lead_id) },
        select: ['ID', 'ORIGIN_ID'],
      })
      const found = new Map((result ?? []).map((l) => [String(l.ORIGIN_ID), Number(l.ID)]))
      const delivered = rows
        .filter((r) => found.has(r.tiktok_lead_id))
        .map((r) => ({ id: r.id, b24LeadId: found.get(r.tiktok_lead_id)! }))
      const missing = rows.filter((r) => !found.has(r.tiktok_lead_id)).map((r) => r.id)
      await leads.markDelivered(delivered, now())
      await leads.requeue(missing, now(), 'not found in Bitrix24 after an unknown outcome; sending again', now())
      this.log.info({ found: delivered.length, resend: missing.length }, 'reconciled leads with unknown outcome')
      // A lead list that lacks leads we sent may mean leads were turned off: ask before the resend.
      if (missing.length) this.mode = (await crmModes.detect(this.memberId, { paced: false })) ?? this.mode
    }

    /**
     * Simple mode: deals by originId are delivered leads; a contact without its deal is kept on
     * the lead (the resend binds to it); the rest go back to the queue. A lead sent as a lead
     * before the portal switched modes is found among leads.
     */
    async reconcileSimple(client: B24Client, rows: Lead[]): Promise<void> {
      const found = await reconcileSimple(client, options.originatorId, rows)
      const asDeal = rows.filter((r) => found.deals.has(r.tiktok_lead_id))
      const asLead = rows.filter((r) => !found.deals.has(r.tiktok_lead_id) && found.leads.has(r.tiktok_lead_id))
      const missing = rows.filter((r) => !found.deals.has(r.tiktok_lead_id) && !found.leads.has(r.tiktok_lead_id))
      await leads.setContactIds(
        missing.flatMap((r) =>
          found.contacts.has(r.tiktok_lead_id) && r.b24_contact_id === null
            ? [{ id: r.id, contactId: found.contacts.get(r.tiktok_lead_id)! }]
            : [],
        ),
      )
      await leads.markDelivered(
        asDeal.map((r) => ({
          id: r.id,
          b24LeadId: found.deals.get(r.tiktok_lead_id)!.dealId,
          b24ContactId: found.deals.get(r.tiktok_lead_id)!.contactId ?? r.b24_contact_id,
        })),
        now(),
        { entity: 'deal' },
      )
      await leads.markDelivered(
        asLead.map((r) => ({ id: r.id, b24LeadId: found.leads.get(r.tiktok_lead_id)! })),
        now(),
      )
      await leads.requeue(
        missing.map((r) => r.id),
        now(),
        'not found in Bitrix24 after an unknown outcome; sending again',
        now(),
      )
      this.log.info(
        { deals: asDeal.length, leads: asLead.length, resend: missing.length },
        'reconciled simple-mode leads with unknown outcome',
      )
    }
  }

  function worker(memberId: string): PortalWorker {
    let w = workers.get(memberId)
    if (!w) {
      w = new PortalWorker(memberId)
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
      return l && l.until > now() ? l : null
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

/** `crm.lead.add?fields…` → `crm.lead.add` */
function methodOf(command: string): string {
  return command.split('?')[0]!.toLowerCase()
}
