import { sql } from 'kysely'
import { eventFor, isInitialStage, readStoredMaps, type StoredStageMaps } from '../../quality/stage-map.js'
import type { DB } from '../database.js'
import type { B24Entity, StageSemantic, TikTokEventStatus } from '../schema.js'

export type QualityRepository = ReturnType<typeof createQualityRepository>

/** TikTok matches CRM events up to 28 days old; older ones are accepted and ignored. */
export const MATCH_WINDOW_S = 28 * 86_400

/** A stage as read from Bitrix24 after an offline event, with when the move happened if it says. */
export interface StageRead {
  b24Id: number
  stageId: string
  semantic: StageSemantic | null
  /** MOVED_TIME in unix ms; null when the portal did not say (the read's time is used) */
  movedAt: number | null
}

/** A completed activity of a Bitrix24 lead (or deal), as read after an offline event. */
export interface ActivityRead {
  /** the record it belongs to (OWNER_ID) */
  b24Id: number
  /** when it was completed, unix ms (see offline-events.ts for which field says it) */
  completedAt: number
}

const earliest = (had: number | null, at: number): number => (had === null ? at : Math.min(had, at))

export interface RecordedStages {
  /** events queued for TikTok */
  queued: number
  /** events stored as too old for TikTok (never sent) */
  tooOld: number
  /** the app's own test leads, which TikTok does not know: no event */
  skippedTest: number
}

/** A due event with what sending it needs. */
export interface DueEvent {
  id: number
  member_id: string
  advertiser_id: string
  event_set_id: string
  event: string
  event_id: string
  event_time: number
  attempts: number
  tiktok_lead_id: string
  lead_json: string
  default_country: string | null
}

export interface LeadEventView {
  event: string
  status: TikTokEventStatus
  /** sent: when TikTok took it; otherwise the stage change's time (ISO) */
  at: string
  error: string | null
}

/**
 * Lead quality's rows: the stage reads with the events they queue (one transaction), and the
 * outbox's small state changes (sent, retry, failed, too old), each one statement.
 */
export function createQualityRepository(db: DB) {
  return {
    /**
     * Store the stages read for a portal's Bitrix24 leads (or deals) and, in the same transaction,
     * for every TikTok lead whose record the app made (status delivered) and that a person moved:
     * its first contact (the earliest known, see recordCompletedActivities) and the mapped TikTok
     * event. A move is a real change from the stage known before the read: the last one read, else
     * the one the lead was delivered at (mapped or initial, b24_delivered_stage_id); a lead delivered
     * before that was stored is judged by the initial-stage rule. So an edit that leaves the stage
     * as it was, a replayed read, or a first read at a mapped in-progress stage is no move. The
     * delivered stage's own event is never sent: the app put the lead there, no person did. A row
     * that did not make the record (a dedup "skip" or "update": status duplicate, pointing at a
     * lead that was somebody's before) only gets the stage: its stage history is not TikTok's.
     * The outbox's unique key is TikTok's dedup triple, so a resend is one event at TikTok.
     */
    async recordStages(
      memberId: string,
      entity: B24Entity,
      stages: StageRead[],
      nowMs: number,
    ): Promise<RecordedStages> {
      const out: RecordedStages = { queued: 0, tooOld: 0, skippedTest: 0 }
      if (stages.length === 0) return out
      const nowS = Math.floor(nowMs / 1000)
      return db.transaction().execute(async (trx) => {
        const conns = await trx
          .selectFrom('tiktok_connections')
          .select(['advertiser_id', 'crm_event_set_id', 'crm_stage_map_json'])
          .where('member_id', '=', memberId)
          .where('crm_event_set_id', 'is not', null)
          .execute()
        const config = new Map<string, { eventSetId: string; maps: StoredStageMaps }>()
        for (const c of conns)
          if (c.crm_event_set_id)
            config.set(c.advertiser_id, { eventSetId: c.crm_event_set_id, maps: readStoredMaps(c.crm_stage_map_json) })

        for (const st of stages) {
          const rows = await trx
            .selectFrom('leads')
            .select([
              'id',
              'tiktok_lead_id',
              'is_test',
              'status',
              'advertiser_id',
              'b24_stage_id',
              'b24_delivered_stage_id',
              'first_contact_at',
            ])
            .where('member_id', '=', memberId)
            .where('b24_entity', '=', entity)
            .where('b24_lead_id', '=', st.b24Id)
            .execute()
          const changedAt = st.movedAt ?? nowMs
          for (const row of rows) {
            const known = row.b24_stage_id ?? row.b24_delivered_stage_id
            const moved =
              row.status === 'delivered' && (known === null ? !isInitialStage(st.stageId) : known !== st.stageId)
            await trx
              .updateTable('leads')
              .set({
                b24_stage_id: st.stageId,
                b24_stage_semantic: st.semantic,
                b24_stage_at: nowMs,
                ...(moved ? { first_contact_at: earliest(row.first_contact_at, changedAt) } : {}),
              })
              .where('id', '=', row.id)
              .execute()

            if (!moved || st.stageId === row.b24_delivered_stage_id) continue
            const advertiserId = row.advertiser_id
            const conf = advertiserId ? config.get(advertiserId) : undefined
            const event = conf ? eventFor(conf.maps, entity, st.stageId) : null
            if (!conf || !event || !advertiserId) continue
            if (row.is_test === 1) {
              out.skippedTest++
              continue
            }
            const eventTime = Math.floor(changedAt / 1000)
            const tooOld = nowS - eventTime > MATCH_WINDOW_S
            const res = await trx
              .insertInto('tiktok_event_outbox')
              .values({
                member_id: memberId,
                lead_id: row.id,
                advertiser_id: advertiserId,
                event_set_id: conf.eventSetId,
                event,
                event_id: `${row.tiktok_lead_id}-${event}`,
                event_time: eventTime,
                status: tooOld ? 'too_old' : 'pending',
                next_attempt_at: nowMs,
                last_error: tooOld ? 'older than the 28 days TikTok matches: not sent' : null,
                created_at: nowMs,
              })
              .onConflict((oc) => oc.columns(['event_set_id', 'event_id', 'event']).doNothing())
              .executeTakeFirst()
            if (Number(res.numInsertedOrUpdatedRows ?? 0) === 1) {
              if (tooOld) out.tooOld++
              else out.queued++
            }
          }
        }
        return out
      })
    },

    /**
     * Completed activities (a to-do ticked off, a call or an e-mail logged done) of a portal's
     * Bitrix24 leads (or deals): a person worked the lead, so each TikTok lead whose record the app
     * made gets its first contact at the earliest of what it had and the completion. Answers how
     * many leads got an earlier (or a first) contact. No TikTok event: those follow stages only.
     */
    async recordCompletedActivities(memberId: string, entity: B24Entity, completed: ActivityRead[]): Promise<number> {
      if (completed.length === 0) return 0
      // The earliest completion per record: one statement each.
      const byRecord = new Map<number, number>()
      for (const a of completed) byRecord.set(a.b24Id, Math.min(byRecord.get(a.b24Id) ?? a.completedAt, a.completedAt))
      return db.transaction().execute(async (trx) => {
        let changed = 0
        for (const [b24Id, at] of byRecord) {
          const res = await trx
            .updateTable('leads')
            .set({ first_contact_at: at })
            .where('member_id', '=', memberId)
            .where('b24_entity', '=', entity)
            .where('b24_lead_id', '=', b24Id)
            .where('status', '=', 'delivered')
            .where((eb) => eb.or([eb('first_contact_at', 'is', null), eb('first_contact_at', '>', at)]))
            .executeTakeFirst()
          changed += Number(res.numUpdatedRows)
        }
        return changed
      })
    },

    /** Up to `limit` pending events due now, oldest first, with their lead's id and answers. */
    async due(nowMs: number, limit: number): Promise<DueEvent[]> {
      return db
        .selectFrom('tiktok_event_outbox as o')
        .innerJoin('leads as l', 'l.id', 'o.lead_id')
        .leftJoin('portal_settings as s', 's.member_id', 'o.member_id')
        .select([
          'o.id',
          'o.member_id',
          'o.advertiser_id',
          'o.event_set_id',
          'o.event',
          'o.event_id',
          'o.event_time',
          'o.attempts',
          'l.tiktok_lead_id',
          'l.lead_json',
          's.default_country',
        ])
        .where('o.status', '=', 'pending')
        .where('o.next_attempt_at', '<=', nowMs)
        .orderBy('o.next_attempt_at')
        .orderBy('o.id')
        .limit(limit)
        .execute()
    },

    /** When the next pending event is due (unix ms), or null with none pending. */
    async nextDueAt(): Promise<number | null> {
      const row = await db
        .selectFrom('tiktok_event_outbox')
        .select((eb) => eb.fn.min('next_attempt_at').as('at'))
        .where('status', '=', 'pending')
        .executeTakeFirst()
      return row?.at ?? null
    },

    async markSent(ids: number[], nowMs: number): Promise<void> {
      if (ids.length === 0) return
      await db
        .updateTable('tiktok_event_outbox')
        .set({ status: 'sent', sent_at: nowMs, last_error: null, attempts: sql`attempts + 1` })
        .where('id', 'in', ids)
        .where('status', '=', 'pending')
        .execute()
    },

    /** Not sent this time (outcome unknown or TikTok unavailable): try again at `nextAt`. */
    async markRetry(ids: number[], error: string, nextAt: number): Promise<void> {
      if (ids.length === 0) return
      await db
        .updateTable('tiktok_event_outbox')
        .set({ last_error: error, next_attempt_at: nextAt, attempts: sql`attempts + 1` })
        .where('id', 'in', ids)
        .where('status', '=', 'pending')
        .execute()
    },

    /** TikTok refused the event itself: resending would not help. */
    async markFailed(ids: number[], error: string): Promise<void> {
      if (ids.length === 0) return
      await db
        .updateTable('tiktok_event_outbox')
        .set({ status: 'failed', last_error: error, attempts: sql`attempts + 1` })
        .where('id', 'in', ids)
        .where('status', '=', 'pending')
        .execute()
    },

    /** Still pending past TikTok's 28-day window: never sent. */
    async markTooOld(ids: number[], error: string): Promise<void> {
      if (ids.length === 0) return
      await db
        .updateTable('tiktok_event_outbox')
        .set({ status: 'too_old', last_error: error })
        .where('id', 'in', ids)
        .where('status', '=', 'pending')
        .execute()
    },

    /** The events of these leads, oldest first, for the delivery log. */
    async eventsOfLeads(leadIds: number[]): Promise<Map<number, LeadEventView[]>> {
      const out = new Map<number, LeadEventView[]>()
      if (leadIds.length === 0) return out
      const rows = await db
        .selectFrom('tiktok_event_outbox')
        .select(['lead_id', 'event', 'status', 'event_time', 'sent_at', 'last_error'])
        .where('lead_id', 'in', leadIds)
        .orderBy('event_time')
        .orderBy('id')
        .execute()
      for (const r of rows) {
        const list = out.get(r.lead_id) ?? []
        list.push({
          event: r.event,
          status: r.status,
          at: new Date(r.status === 'sent' && r.sent_at !== null ? r.sent_at : r.event_time * 1000).toISOString(),
          error: r.last_error,
        })
        out.set(r.lead_id, list)
      }
      return out
    },

    /** A connection's chosen event set and stage maps (null set: none chosen). */
    async setEventSet(
      memberId: string,
      advertiserId: string,
      set: { eventSetId: string; name: string } | null,
      maps: StoredStageMaps,
      nowMs: number,
    ): Promise<boolean> {
      const res = await db
        .updateTable('tiktok_connections')
        .set({
          crm_event_set_id: set?.eventSetId ?? null,
          crm_event_set_name: set?.name ?? null,
          crm_stage_map_json: JSON.stringify(maps),
          updated_at: nowMs,
        })
        .where('member_id', '=', memberId)
        .where('advertiser_id', '=', advertiserId)
        .executeTakeFirst()
      return Number(res.numUpdatedRows) === 1
    },
  }
}
