import { sql, type Updateable } from 'kysely'
import type { Clock } from '../../clock.js'
import type { LeadCounts } from '../../metrics/lead-counts.js'
import type { DB } from '../database.js'
import type { B24Entity, LeadStatus, LeadTable } from '../schema.js'
import { isSending } from './lead-sql.js'

/**
 * A batch's outcomes written back: delivered, duplicate, failed, or queued again. Each moves a lead
 * out of `sending`; `counts` (the /metrics lead gauges) learns every move from what the statements
 * already give back (RETURNING member_id), so no write adds a query. A move is written with
 * `status = 'sending'` first; rows that were in another status (unknown, rare) are written by a
 * second statement and their portal is re-counted off the hot path.
 */

/** Rows per portal, from the `member_id`s a statement's RETURNING gave back. */
function perPortal(rows: Array<{ member_id: string }>): Map<string, number> {
  const out = new Map<string, number>()
  for (const r of rows) out.set(r.member_id, (out.get(r.member_id) ?? 0) + 1)
  return out
}

/** The outcome writes of the lead repository (createLeadRepository spreads them in). */
export function createLeadOutcomes(db: DB, counts: LeadCounts | null, clock: Clock) {
  const track = <T>(fn: () => Promise<T>): Promise<T> => (counts ? counts.track(fn) : fn())

  /** Rows moved from `sending` (one count per portal), and portals whose rows came from elsewhere. */
  function report(
    fromSending: Array<{ member_id: string }>,
    to: LeadStatus,
    unknown: Array<{ member_id: string }>,
  ): void {
    if (!counts) return
    for (const [m, n] of perPortal(fromSending)) counts.move(m, 'sending', to, n)
    for (const m of perPortal(unknown).keys()) counts.stale(m)
  }

  /**
   * Per-row updates out of `sending` in one transaction (markDuplicate, markFailed): each row first
   * with `status = 'sending'`, and only if that changed nothing, again without it.
   */
  async function markEach<T extends { id: number }>(
    items: T[],
    to: LeadStatus,
    set: (it: T) => Updateable<LeadTable>,
  ): Promise<Array<{ member_id: string }>> {
    return track(async () => {
      const fromSending: Array<{ member_id: string }> = []
      const unknown: Array<{ member_id: string }> = []
      await db.transaction().execute(async (trx) => {
        for (const it of items) {
          const row = await trx
            .updateTable('leads')
            .set(set(it))
            .where('id', '=', it.id)
            .where(isSending)
            .returning('member_id')
            .executeTakeFirst()
          if (row) {
            fromSending.push(row)
            continue
          }
          const other = await trx
            .updateTable('leads')
            .set(set(it))
            .where('id', '=', it.id)
            .returning('member_id')
            .executeTakeFirst()
          if (other) unknown.push(other)
        }
      })
      report(fromSending, to, unknown)
      return [...fromSending, ...unknown]
    })
  }

  /** Told (after the commit) of each portal whose leads just ended as failed: the health alerts' trigger. */
  const failedListeners = new Set<(memberId: string) => void>()

  return {
    /**
     * One statement for a whole batch: this runs up to twice a second for every portal. `stageId`:
     * the stage the record was written at (deliveredStageOf), what its first stage read is compared
     * with; left unset for a lead found again after an unknown outcome (its first read decides).
     */
    async markDelivered(
      items: Array<{ id: number; b24LeadId: number; b24ContactId?: number | null; stageId?: string | null }>,
      nowMs = clock.now(),
      opts: { entity?: B24Entity } = {},
    ): Promise<void> {
      if (items.length === 0) return
      const write = (its: typeof items) => {
        const ids = sql.join(
          its.map((it) => sql`when ${it.id} then ${it.b24LeadId}`),
          sql` `,
        )
        // Simple CRM mode: b24_lead_id holds the deal's id, with the contact it is bound to.
        const contacts = sql.join(
          its.map((it) => sql`when ${it.id} then ${it.b24ContactId ?? null}`),
          sql` `,
        )
        const entity = opts.entity
          ? { b24_entity: opts.entity, b24_contact_id: sql<number | null>`case id ${contacts} end` }
          : {}
        const staged = its.filter((it) => it.stageId !== undefined)
        const stages = staged.length
          ? {
              b24_delivered_stage_id: sql<string | null>`case id ${sql.join(
                staged.map((it) => sql`when ${it.id} then ${it.stageId ?? null}`),
                sql` `,
              )} else b24_delivered_stage_id end`,
            }
          : {}
        return db
          .updateTable('leads')
          .set({
            status: 'delivered',
            b24_lead_id: sql<number>`case id ${ids} end`,
            ...entity,
            ...stages,
            last_error: null,
            done_at: nowMs,
            updated_at: nowMs,
          })
          .where(
            'id',
            'in',
            its.map((it) => it.id),
          )
      }
      await track(async () => {
        const done = await write(items).where(isSending).returning(['id', 'member_id']).execute()
        let unknown: Array<{ member_id: string }> = []
        if (done.length < items.length) {
          const seen = new Set(done.map((r) => r.id))
          unknown = await write(items.filter((it) => !seen.has(it.id)))
            .returning('member_id')
            .execute()
        }
        report(done, 'delivered', unknown)
      })
    },

    /**
     * Simple CRM mode: the contact an attempt made (or a reconciliation found) although the deal was
     * not made, so the next attempt binds its deal to it instead of making the person twice.
     */
    async setContactIds(items: Array<{ id: number; contactId: number }>): Promise<void> {
      if (items.length === 0) return
      const ids = sql.join(
        items.map((it) => sql`when ${it.id} then ${it.contactId}`),
        sql` `,
      )
      await db
        .updateTable('leads')
        .set({ b24_contact_id: sql<number>`case id ${ids} end` })
        .where(
          'id',
          'in',
          items.map((it) => it.id),
        )
        .execute()
    },

    async markDuplicate(
      items: Array<{ id: number; b24LeadId: number | null; duplicateOf: string }>,
      nowMs = clock.now(),
    ): Promise<void> {
      if (items.length === 0) return
      await markEach(items, 'duplicate', (it) => ({
        status: 'duplicate',
        b24_lead_id: it.b24LeadId,
        duplicate_of: it.duplicateOf,
        last_error: null,
        done_at: nowMs,
        updated_at: nowMs,
      }))
    },

    async markFailed(items: Array<{ id: number; error: string }>, nowMs = clock.now()): Promise<void> {
      if (items.length === 0) return
      const rows = await markEach(items, 'failed', (it) => ({
        status: 'failed',
        last_error: it.error,
        done_at: nowMs,
        updated_at: nowMs,
      }))
      for (const m of perPortal(rows).keys())
        for (const fn of failedListeners) {
          // A listener's trouble is its own: the leads are failed and committed either way.
          try {
            fn(m)
          } catch {}
        }
    },

    /** Calls `fn(memberId)` whenever leads of that portal end as failed; answers the unsubscribe. */
    onFailed(fn: (memberId: string) => void): () => void {
      failedListeners.add(fn)
      return () => failedListeners.delete(fn)
    },

    /**
     * Back to the queue after a transient failure, due again at `nextAttemptAt`. `notAttempted`:
     * Bitrix24 refused to run it at all (its operating limit), so the claim does not count as an attempt.
     */
    async requeue(
      ids: number[],
      nextAttemptAt: number,
      error: string | null,
      nowMs = clock.now(),
      opts: { notAttempted?: boolean } = {},
    ): Promise<void> {
      if (ids.length === 0) return
      const write = (these: number[]) =>
        db
          .updateTable('leads')
          .set({
            status: 'queued',
            next_attempt_at: nextAttemptAt,
            last_error: error,
            updated_at: nowMs,
            ...(opts.notAttempted ? { attempts: sql<number>`max(attempts - 1, 0)` } : {}),
          })
          .where('id', 'in', these)
      await track(async () => {
        const done = await write(ids).where(isSending).returning(['id', 'member_id']).execute()
        let unknown: Array<{ member_id: string }> = []
        if (done.length < ids.length) {
          const seen = new Set(done.map((r) => r.id))
          unknown = await write(ids.filter((id) => !seen.has(id)))
            .returning('member_id')
            .execute()
        }
        report(done, 'queued', unknown)
      })
    },

    /** Still `sending`, but the outcome is unknown: note why, and restart the reconciliation clock. */
    async requeueUnknown(ids: number[], error: string, nowMs = clock.now()): Promise<void> {
      if (ids.length === 0) return
      await db
        .updateTable('leads')
        .set({ last_error: error, updated_at: nowMs })
        .where('id', 'in', ids)
        .where('status', '=', 'sending')
        .execute()
    },
  }
}
