import type { FastifyBaseLogger } from 'fastify'
import { z } from 'zod'
import { manifest } from '../../manifest/app.js'
import { type Clock, systemClock } from '../clock.js'
import type { LeadRepository } from '../db/repositories/leads.js'
import type { ActivityRead, QualityRepository, StageRead } from '../db/repositories/quality.js'
import type { B24Entity, StageSemantic } from '../db/schema.js'
import { classifyError } from './classify.js'
import type { B24Client } from './client.js'
import { DEAL_TYPE, LEAD_TYPE } from './entity-types.js'
import { OFFLINE_EVENTS_PER_CALL } from './limits.js'
import { batchCommand } from './query.js'

/**
 * Lossless lead stages. Online events are never retried (a missed ONCRMLEADUPDATE is gone), so
 * lead and deal changes are bound as offline events: the portal queues them, one record per
 * object, and we collect them here. Each round reserves a batch (`clear=0`, which hides it from
 * other reads and names it by `process_id`), reads the current stage of the leads that are ours
 * and the activities the batch names (see readActivities), one list call each and one `batch`
 * request when there are several, stores them, and only then clears the batch: a crash between the two leaves the
 * batch reserved, and it is taken again by its `process_id` (kept in memory for failures within
 * this process; after a restart found through event.offline.list, which shows each reserved
 * record's PROCESS_ID). Our own writes carry `auth_connector`, so they never come back here.
 * @see https://apidocs.bitrix24.com/api-reference/events/offline-events.html
 * @see https://apidocs.bitrix24.com/api-reference/events/event-offline-get.html
 * @see https://apidocs.bitrix24.com/api-reference/events/event-offline-clear.html
 * @see https://apidocs.bitrix24.com/api-reference/events/event-offline-list.html
 */

export const AUTH_CONNECTOR = manifest.offlineAuthConnector
/** Records per get (the portal's default and a list page). */
const LIMIT = OFFLINE_EVENTS_PER_CALL
/** Rounds per drain, so one busy portal cannot hold its queue for long. */
const MAX_ROUNDS = 20

/** Every command of our batches carries our source key: the modifying call is the command. */
export function withAuthConnector(command: string): string {
  if (/[?&]auth_connector=/.test(command)) return command
  return `${command}${command.includes('?') ? '&' : '?'}auth_connector=${encodeURIComponent(AUTH_CONNECTOR)}`
}

const OfflineEvent = z.object({
  ID: z.union([z.string(), z.number()]),
  EVENT_NAME: z.string(),
  EVENT_DATA: z.unknown(),
  MESSAGE_ID: z.union([z.string(), z.number()]).optional(),
})
const GetAnswer = z.object({ process_id: z.string().nullable().optional(), events: z.array(OfflineEvent) })
const ListRow = z.object({ PROCESS_ID: z.string().nullable().optional() })
const StageRow = z.object({
  ID: z.union([z.string(), z.number()]),
  STATUS_ID: z.string().nullable().optional(),
  STATUS_SEMANTIC_ID: z.string().nullable().optional(),
  STAGE_ID: z.string().nullable().optional(),
  STAGE_SEMANTIC_ID: z.string().nullable().optional(),
  MOVED_TIME: z.string().nullable().optional(),
})

const ActivityRow = z.object({
  ID: z.union([z.string(), z.number()]),
  OWNER_TYPE_ID: z.union([z.string(), z.number()]),
  OWNER_ID: z.union([z.string(), z.number()]),
  COMPLETED: z.string().nullable().optional(),
  PROVIDER_ID: z.string().nullable().optional(),
  END_TIME: z.string().nullable().optional(),
  LAST_UPDATED: z.string().nullable().optional(),
})

const ENTITY_OF: Record<string, B24Entity> = { ONCRMLEADUPDATE: 'lead', ONCRMDEALUPDATE: 'deal' }
/** An activity added (a call or an e-mail logged done is added completed) or updated (a to-do ticked off). */
const ACTIVITY_EVENTS = new Set(['ONCRMACTIVITYADD', 'ONCRMACTIVITYUPDATE'])
/** A to-do's provider: its END_TIME is the deadline, not when it was done. @see api-reference/crm/timeline/activities/todo/index.md */
const TODO_PROVIDER = 'CRM_TODO'
/** The owners an activity can make a first contact for: our leads, and our deals in simple mode. */
const OWNER_ENTITY: Record<number, B24Entity> = { [LEAD_TYPE]: 'lead', [DEAL_TYPE]: 'deal' }

function entityId(data: unknown): number | null {
  const id = (data as { FIELDS?: { ID?: unknown } } | null)?.FIELDS?.ID
  const n = typeof id === 'number' ? id : typeof id === 'string' ? Number.parseInt(id, 10) : Number.NaN
  return Number.isInteger(n) && n > 0 ? n : null
}

/** MOVED_TIME / LAST_UPDATED (ISO 8601 with the portal's offset) as unix ms; null when absent or unreadable. */
function timeOf(value: string | null | undefined): number | null {
  const ms = value ? Date.parse(value) : Number.NaN
  return Number.isFinite(ms) ? ms : null
}

function semanticOf(value: string | null | undefined): StageSemantic | null {
  return value === 'P' || value === 'S' || value === 'F' ? value : null
}

export interface DrainResult {
  /** offline records taken and cleared */
  events: number
  /** stage reads stored (Bitrix24 leads or deals of ours) */
  stages: number
  /** leads whose first contact a completed activity set or moved earlier */
  contacts: number
}

export interface OfflineDrainDeps {
  leads: Pick<LeadRepository, 'ownB24Ids'>
  log: FastifyBaseLogger
  /** time (app.clock); the system clock when not given */
  clock?: Pick<Clock, 'now'>
  /**
   * Lead quality (src/plugins/quality.ts): stores each stage read together with the TikTok CRM
   * event it maps to and the lead's first contact, in one transaction, then wakes the outbox; and
   * the first contacts of completed activities.
   */
  quality: { repo: Pick<QualityRepository, 'recordStages' | 'recordCompletedActivities'>; notify(): void }
}

/**
 * One portal's drainer. `drain` runs rounds until the queue is empty (or MAX_ROUNDS); a failure
 * keeps the reserved batch's process_id for the next drain.
 */
export function createOfflineDrainer(deps: OfflineDrainDeps) {
  const clock = deps.clock ?? systemClock
  const now = () => clock.now()
  /** process_ids reserved but not cleared, per portal (a failed round, or found after a restart) */
  const pending = new Map<string, Set<string>>()
  /** portals whose reservations from an earlier process were looked for */
  const adopted = new Set<string>()

  function pendingOf(memberId: string): Set<string> {
    let set = pending.get(memberId)
    if (!set) {
      set = new Set()
      pending.set(memberId, set)
    }
    return set
  }

  /** Reserved batches nobody here knows of: an earlier process took them and died before clearing. */
  async function adoptOrphans(client: B24Client, memberId: string): Promise<void> {
    const set = pendingOf(memberId)
    for (let start = 0, page = 0; page < 10; page++) {
      const { result, more } = await client.call<unknown>('event.offline.list', {
        auth_connector: AUTH_CONNECTOR,
        filter: { '!=PROCESS_ID': '' },
        start,
      })
      const rows = z.array(ListRow).safeParse(result)
      if (!rows.success) break
      for (const r of rows.data) if (r.PROCESS_ID) set.add(r.PROCESS_ID)
      if (!more) break
      start += LIMIT
    }
  }

  /** A list read: one call, or one command of a `batch` when a round has several. */
  interface Read {
    method: string
    params: Record<string, unknown>
    store(result: unknown): Promise<void>
  }

  /** Several reads cost one request (a `batch`); a command's error fails the round (nothing is cleared). */
  async function runReads(client: B24Client, reads: Read[]): Promise<void> {
    if (reads.length === 0) return
    if (reads.length === 1) {
      const only = reads[0]!
      const { result } = await client.call<unknown>(only.method, only.params)
      await only.store(result)
      return
    }
    const cmd = Object.fromEntries(reads.map((r, i) => [`r${i}`, batchCommand(r.method, r.params)]))
    const res = await client.batch(cmd, false)
    const results = (res.result ?? {}) as Record<string, unknown>
    const errors = (res.result_error ?? {}) as Record<string, { error?: string; error_description?: string }>
    for (const [i, r] of reads.entries()) {
      const err = errors[`r${i}`]
      if (err || !(`r${i}` in results))
        throw new Error(
          `${r.method} in the offline-events batch: ${err?.error ?? 'no answer'} ${err?.error_description ?? ''}`.trim(),
        )
    }
    for (const [i, r] of reads.entries()) await r.store(results[`r${i}`])
  }

  function stagesOf(entity: B24Entity, result: unknown): StageRead[] {
    const lead = entity === 'lead'
    const rows = z.array(StageRow).parse(result)
    const out: StageRead[] = []
    for (const r of rows) {
      const stageId = lead ? r.STATUS_ID : r.STAGE_ID
      if (!stageId) continue
      out.push({
        b24Id: Number(r.ID),
        stageId,
        semantic: semanticOf(lead ? r.STATUS_SEMANTIC_ID : r.STAGE_SEMANTIC_ID),
        movedAt: timeOf(r.MOVED_TIME),
      })
    }
    return out
  }

  /**
   * The stage read of our leads (or deals). MOVED_TIME: when the stage changed, the time a CRM
   * event for TikTok carries.
   */
  function stageRead(memberId: string, entity: B24Entity, ids: number[], done: DrainResult): Read {
    const lead = entity === 'lead'
    return {
      method: lead ? 'crm.lead.list' : 'crm.deal.list',
      params: {
        filter: { '@ID': ids },
        select: lead
          ? ['ID', 'STATUS_ID', 'STATUS_SEMANTIC_ID', 'MOVED_TIME']
          : ['ID', 'STAGE_ID', 'STAGE_SEMANTIC_ID', 'MOVED_TIME'],
      },
      async store(result) {
        const stages = stagesOf(entity, result)
        const r = await deps.quality.repo.recordStages(memberId, entity, stages, now())
        if (r.queued) deps.quality.notify()
        if (r.tooOld || r.skippedTest)
          deps.log.info(
            { memberId, tooOld: r.tooOld, skippedTest: r.skippedTest },
            'stage changes not sent to TikTok: older than its 28 days, or the app’s own test leads',
          )
        done.stages += stages.length
      },
    }
  }

  /**
   * Time to first contact counts completed activities too. The records name activities only by
   * ID, and which are of our leads is only known once read: one crm.activity.list for all the
   * round's activities (at most a page: a round is OFFLINE_EVENTS_PER_CALL records), only those
   * completed and owned by a lead or a deal, so no request is spent per lead. When it was done:
   * a call's or an e-mail's END_TIME is its completion ("Activity completion time"); a to-do's is
   * its deadline, and ticking it off is the activity's update, so LAST_UPDATED read after that
   * event is the completion (a later edit of a done activity moves it later, never earlier, and
   * the repository keeps the earliest). Never later than LAST_UPDATED.
   * @see https://apidocs.bitrix24.com/api-reference/crm/timeline/activities/events/on-crm-activity-update.html
   * @see https://apidocs.bitrix24.com/api-reference/crm/timeline/activities/activity-base/crm-activity-list.html
   * @see https://apidocs.bitrix24.com/api-reference/crm/timeline/activities/activity-base/crm-activity-fields.html
   */
  function activityRead(memberId: string, ids: number[], done: DrainResult): Read {
    return {
      method: 'crm.activity.list',
      params: {
        filter: { '@ID': ids, COMPLETED: 'Y', '@OWNER_TYPE_ID': [LEAD_TYPE, DEAL_TYPE] },
        select: ['ID', 'OWNER_TYPE_ID', 'OWNER_ID', 'COMPLETED', 'PROVIDER_ID', 'END_TIME', 'LAST_UPDATED'],
      },
      async store(result) {
        const byEntity = new Map<B24Entity, ActivityRead[]>()
        for (const a of z.array(ActivityRow).parse(result)) {
          const entity = OWNER_ENTITY[Number(a.OWNER_TYPE_ID)]
          const updated = timeOf(a.LAST_UPDATED)
          const ended = a.PROVIDER_ID === TODO_PROVIDER ? null : timeOf(a.END_TIME)
          const completedAt = updated === null ? null : ended === null ? updated : Math.min(ended, updated)
          const b24Id = Number(a.OWNER_ID)
          // The filter asked for completed ones; a portal that ignored it is not believed.
          if (!entity || a.COMPLETED !== 'Y' || completedAt === null || !(b24Id > 0)) continue
          byEntity.set(entity, [...(byEntity.get(entity) ?? []), { b24Id, completedAt }])
        }
        for (const [entity, list] of byEntity)
          done.contacts += await deps.quality.repo.recordCompletedActivities(memberId, entity, list)
      },
    }
  }

  /** Reads and stores what the events point at; throws if any read fails (nothing is cleared then). */
  async function handle(
    client: B24Client,
    memberId: string,
    events: Array<z.infer<typeof OfflineEvent>>,
  ): Promise<DrainResult> {
    const done: DrainResult = { events: events.length, stages: 0, contacts: 0 }
    const byEntity = new Map<B24Entity, Set<number>>()
    const activities = new Set<number>()
    for (const e of events) {
      const name = e.EVENT_NAME.toUpperCase()
      const id = entityId(e.EVENT_DATA)
      if (id === null) continue
      if (ACTIVITY_EVENTS.has(name)) {
        activities.add(id)
        continue
      }
      const entity = ENTITY_OF[name]
      if (!entity) continue
      let set = byEntity.get(entity)
      if (!set) {
        set = new Set()
        byEntity.set(entity, set)
      }
      set.add(id)
    }
    const reads: Read[] = []
    for (const [entity, ids] of byEntity) {
      const ours = await deps.leads.ownB24Ids(memberId, entity, [...ids])
      if (ours.length) reads.push(stageRead(memberId, entity, ours, done))
    }
    if (activities.size) reads.push(activityRead(memberId, [...activities], done))
    await runReads(client, reads)
    return done
  }

  /** One reserve → read → store → clear round; null when the queue had nothing. */
  async function round(client: B24Client, memberId: string, processId?: string): Promise<DrainResult | null> {
    const { result } = await client.call<unknown>('event.offline.get', {
      clear: 0,
      limit: LIMIT,
      auth_connector: AUTH_CONNECTOR,
      ...(processId ? { process_id: processId } : {}),
    })
    const answer = GetAnswer.parse(result)
    const pid = answer.process_id ?? processId
    if (answer.events.length === 0) {
      if (processId) pendingOf(memberId).delete(processId)
      return null
    }
    if (!pid) {
      // Reservation is a plan feature (rest_offline_extended): without it the get has already
      // deleted what it returned, so read what we can now; there is nothing to clear.
      return handle(client, memberId, answer.events)
    }
    pendingOf(memberId).add(pid)
    const done = await handle(client, memberId, answer.events)
    await client.call('event.offline.clear', { process_id: pid })
    pendingOf(memberId).delete(pid)
    return done
  }

  const add = (total: DrainResult, r: DrainResult) => {
    total.events += r.events
    total.stages += r.stages
    total.contacts += r.contacts
  }

  async function drain(client: B24Client, memberId: string): Promise<DrainResult> {
    const total: DrainResult = { events: 0, stages: 0, contacts: 0 }
    if (!adopted.has(memberId)) {
      await adoptOrphans(client, memberId)
      adopted.add(memberId)
    }
    for (const pid of [...pendingOf(memberId)]) {
      const r = await round(client, memberId, pid)
      if (r) add(total, r)
    }
    for (let i = 0; i < MAX_ROUNDS; i++) {
      const r = await round(client, memberId)
      if (!r) break
      add(total, r)
    }
    return total
  }

  return {
    drain,
    /** process_ids held for the portal (for logs and tests) */
    pendingFor: (memberId: string): string[] => [...pendingOf(memberId)],
    /** why a drain failed, in the client's terms */
    classify: classifyError,
  }
}

export type OfflineDrainer = ReturnType<typeof createOfflineDrainer>
