import { sql } from 'kysely'
import { type Clock, systemClock } from '../../clock.js'
import type { LeadCounts } from '../../metrics/lead-counts.js'
import type { DB } from '../database.js'
import type { B24Entity, Lead, LeadStatus } from '../schema.js'
import { createLeadInserter, type IncomingLead } from './lead-inserts.js'
import { createLeadOutcomes } from './lead-outcomes.js'
import { isPending, isSending } from './lead-sql.js'

export interface StatusCounts {
  received: number
  queued: number
  sending: number
  delivered: number
  duplicate: number
  failed: number
}

export type LeadRepository = ReturnType<typeof createLeadRepository>

export interface LeadRepositoryOptions {
  /** the /metrics lead gauges, told of every status change */
  counts?: LeadCounts | null
  /** what stamps a write that is given no time of its own (received_at, done_at, updated_at) */
  clock?: Clock
}

/**
 * A lead's life in the table: stored (lead-inserts.ts), claimed for a batch, its outcome written
 * back (lead-outcomes.ts), re-sent on request. `counts` (the /metrics lead gauges) learns every
 * status change these writes make, from what the statements already give back (inserted counts,
 * claimed rows, RETURNING member_id): no write adds a query. The settings tab's statistics are
 * read by lead-stats.ts.
 */
export function createLeadRepository(db: DB, opts: LeadRepositoryOptions = {}) {
  const counts = opts.counts ?? null
  const clock = opts.clock ?? systemClock
  const inserter = createLeadInserter(db, counts)
  const outcomes = createLeadOutcomes(db, counts, clock)
  const track = <T>(fn: () => Promise<T>): Promise<T> => (counts ? counts.track(fn) : fn())

  /** The claim itself (one transaction); `from` is each claimed row's status before. */
  async function claimDueIn(
    memberId: string,
    limit: number,
    nowMs: number,
  ): Promise<{ rows: Lead[]; from: LeadStatus[] }> {
    return db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('leads')
        .selectAll()
        .where('member_id', '=', memberId)
        .where(isPending)
        .where('next_attempt_at', '<=', nowMs)
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(limit)
        .execute()
      if (rows.length === 0) return { rows, from: [] }
      await trx
        .updateTable('leads')
        .set({ status: 'sending', sent_at: nowMs, updated_at: nowMs, attempts: sql`attempts + 1` })
        .where(
          'id',
          'in',
          rows.map((r) => r.id),
        )
        .execute()
      return {
        rows: rows.map((r) => ({ ...r, status: 'sending' as const, sent_at: nowMs, attempts: r.attempts + 1 })),
        from: rows.map((r) => r.status),
      }
    })
  }

  return {
    ...outcomes,

    /**
     * Store leads durably; a TikTok lead already stored for this portal (a retry) is skipped.
     * Resolves with how many were new once they are committed (group commit: lead-inserts.ts).
     */
    insertMany(
      memberId: string,
      leads: IncomingLead[],
      verify: { scheme: string; valid: boolean },
      nowMs = clock.now(),
    ): Promise<number> {
      return inserter.insertMany(memberId, leads, verify, nowMs)
    },

    async find(memberId: string, id: number): Promise<Lead | undefined> {
      return db
        .selectFrom('leads')
        .selectAll()
        .where('member_id', '=', memberId)
        .where('id', '=', id)
        .executeTakeFirst()
    },

    async findByTikTokId(memberId: string, tiktokLeadId: string): Promise<Lead | undefined> {
      return db
        .selectFrom('leads')
        .selectAll()
        .where('member_id', '=', memberId)
        .where('tiktok_lead_id', '=', tiktokLeadId)
        .executeTakeFirst()
    },

    /**
     * Take up to `limit` due leads, oldest first, and mark them `sending` in the same transaction:
     * a lead is in at most one batch, and after a crash `sending` says "outcome unknown, reconcile".
     */
    async claimDue(memberId: string, limit: number, nowMs = clock.now()): Promise<Lead[]> {
      return track(async () => {
        const claimed = await claimDueIn(memberId, limit, nowMs)
        if (counts && claimed.from.length) {
          const fromQueued = claimed.from.filter((st) => st === 'queued').length
          counts.move(memberId, 'queued', 'sending', fromQueued)
          counts.move(memberId, 'received', 'sending', claimed.from.length - fromQueued)
        }
        return claimed.rows
      })
    },

    /** When the portal's next pending lead becomes due (unix ms), or null when nothing is pending. */
    async nextDueAt(memberId: string): Promise<number | null> {
      const row = await db
        .selectFrom('leads')
        .select((eb) => eb.fn.min('next_attempt_at').as('at'))
        .where('member_id', '=', memberId)
        .where(isPending)
        .executeTakeFirst()
      return row?.at ?? null
    },

    /**
     * The portal's `sending` leads as id and last write only. The reconciler asks before every
     * batch, and the answer is mostly the other loop's batch in flight: whole rows (lead, payload,
     * analytics columns) cost ~7x as much to read (50 in flight: ~280 µs against ~38 µs) and are
     * thrown away.
     */
    async sendingTimes(memberId: string, limit: number): Promise<Array<Pick<Lead, 'id' | 'updated_at'>>> {
      return db
        .selectFrom('leads')
        .select(['id', 'updated_at'])
        .where('member_id', '=', memberId)
        .where(isSending)
        .orderBy('id')
        .limit(limit)
        .execute()
    },

    /** Whole rows of those of `ids` still `sending` (a look-up's leads), by id. */
    async listSending(memberId: string, ids: number[]): Promise<Lead[]> {
      if (ids.length === 0) return []
      return db
        .selectFrom('leads')
        .selectAll()
        .where('member_id', '=', memberId)
        .where(isSending)
        .where('id', 'in', ids)
        .orderBy('id')
        .execute()
    },

    /** Portals with work: pending or in-flight leads. */
    async portalsWithWork(): Promise<string[]> {
      const rows = await db
        .selectFrom('leads')
        .select('member_id')
        .distinct()
        .where('status', 'in', ['received', 'queued', 'sending'])
        .execute()
      return rows.map((r) => r.member_id)
    },

    /** A person asked to send failed leads again (all of the portal's, or the given ids). */
    async resend(memberId: string, ids: number[] | 'all-failed', nowMs = clock.now()): Promise<number> {
      let q = db
        .updateTable('leads')
        .set({ status: 'queued', next_attempt_at: nowMs, attempts: 0, updated_at: nowMs, done_at: null })
        .where('member_id', '=', memberId)
        .where('status', '=', 'failed')
      if (ids !== 'all-failed') {
        if (ids.length === 0) return 0
        q = q.where('id', 'in', ids)
      }
      return track(async () => {
        const n = Number((await q.executeTakeFirst()).numUpdatedRows)
        counts?.move(memberId, 'failed', 'queued', n)
        return n
      })
    },

    async counts(memberId: string): Promise<StatusCounts> {
      const rows = await db
        .selectFrom('leads')
        .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('member_id', '=', memberId)
        .groupBy('status')
        .execute()
      const out: StatusCounts = { received: 0, queued: 0, sending: 0, delivered: 0, duplicate: 0, failed: 0 }
      for (const r of rows) out[r.status] = Number(r.n)
      return out
    },

    async latest(
      memberId: string,
      opts: { status?: LeadStatus | undefined; limit: number; beforeId?: number | undefined },
    ): Promise<Lead[]> {
      let q = db.selectFrom('leads').selectAll().where('member_id', '=', memberId)
      if (opts.status) q = q.where('status', '=', opts.status)
      if (opts.beforeId) q = q.where('id', '<', opts.beforeId)
      return q.orderBy('id', 'desc').limit(opts.limit).execute()
    },

    /**
     * The TikTok leads delivered to one Bitrix24 lead (or deal in simple mode), newest first: the
     * card tab's story. Usually one; a duplicate or an update of the same record adds more.
     */
    async ofB24Record(memberId: string, entity: B24Entity, b24Id: number, limit = 20): Promise<Lead[]> {
      return db
        .selectFrom('leads')
        .selectAll()
        .where('member_id', '=', memberId)
        .where('b24_lead_id', '=', b24Id)
        .where('b24_entity', '=', entity)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute()
    },

    /** Which of these Bitrix24 ids (leads, or deals in simple mode) are ones we delivered. */
    async ownB24Ids(memberId: string, entity: B24Entity, b24Ids: number[]): Promise<number[]> {
      if (b24Ids.length === 0) return []
      const rows = await db
        .selectFrom('leads')
        .select('b24_lead_id')
        .distinct()
        .where('member_id', '=', memberId)
        .where('b24_entity', '=', entity)
        .where('b24_lead_id', 'in', b24Ids)
        .execute()
      return rows.map((r) => r.b24_lead_id).filter((id): id is number => id !== null)
    },
  }
}
