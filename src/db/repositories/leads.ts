import { sql, type Updateable } from 'kysely'
import type { DB } from '../database.js'
import type { B24Entity, Lead, LeadStatus, LeadTable, StageSemantic } from '../schema.js'
import type { LeadCounts } from '../../metrics/lead-counts.js'

export interface IncomingLead {
  tiktokLeadId: string
  format: string
  isTest: boolean
  leadJson: string
  rawJson: string
}

export interface StatusCounts {
  received: number
  queued: number
  sending: number
  delivered: number
  duplicate: number
  failed: number
}

export type LeadRepository = ReturnType<typeof createLeadRepository>

/**
 * Written as SQL literals, not bound parameters: only then can SQLite see that a query matches the
 * partial indexes (leads_due, leads_sending) and use them, instead of sorting every pending lead.
 */
const isPending = sql<boolean>`status in ('received', 'queued')`
const isSending = sql<boolean>`status = 'sending'`

interface PendingInsert {
  memberId: string
  leads: IncomingLead[]
  verify: { scheme: string; valid: boolean }
  nowMs: number
  resolve: (inserted: number) => void
  reject: (err: unknown) => void
}

type Outcome = { ok: true; inserted: number } | { ok: false; err: unknown }

/** One request's insert failed in a group run without savepoints: run the group again, isolated. */
class RequestFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('a request of the group failed')
  }
}

/**
 * Rows per INSERT statement. Each row binds 10 values, and SQLite refuses a statement with more
 * than 32,766 bound values (SQLITE_MAX_VARIABLE_NUMBER; one 3,277-lead request used to fail its
 * whole group commit): 500 rows stay far below it.
 * @see https://www.sqlite.org/limits.html#max_variable_number
 */
export const INSERT_CHUNK_ROWS = 500

/** Rows per portal, from the `member_id`s a statement's RETURNING gave back. */
function perPortal(rows: Array<{ member_id: string }>): Map<string, number> {
  const out = new Map<string, number>()
  for (const r of rows) out.set(r.member_id, (out.get(r.member_id) ?? 0) + 1)
  return out
}

/**
 * `counts` (the /metrics lead gauges) learns every status change these writes make, from what the
 * statements already give back (inserted counts, claimed rows, RETURNING member_id): no write adds
 * a query. A transition out of `sending` is written with `status = 'sending'` first; rows that
 * were in another status (unknown, rare) are written by a second statement and their portal is
 * re-counted off the hot path.
 */
export function createLeadRepository(db: DB, counts: LeadCounts | null = null) {
  let pendingInserts: PendingInsert[] = []
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
  ): Promise<void> {
    await track(async () => {
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
    })
  }

  async function insertRequest(trx: DB, p: PendingInsert): Promise<number> {
    let inserted = 0
    for (let i = 0; i < p.leads.length; i += INSERT_CHUNK_ROWS) {
      const res = await trx
        .insertInto('leads')
        .values(
          p.leads.slice(i, i + INSERT_CHUNK_ROWS).map((l) => ({
            member_id: p.memberId,
            tiktok_lead_id: l.tiktokLeadId,
            format: l.format,
            is_test: l.isTest ? 1 : 0,
            lead_json: l.leadJson,
            raw_json: l.rawJson,
            verify_scheme: p.verify.scheme,
            verify_valid: p.verify.valid ? 1 : 0,
            received_at: p.nowMs,
            updated_at: p.nowMs,
          })),
        )
        .onConflict((oc) => oc.columns(['member_id', 'tiktok_lead_id']).doNothing())
        .executeTakeFirst()
      inserted += Number(res.numInsertedOrUpdatedRows ?? 0)
    }
    return inserted
  }

  /**
   * One transaction for the whole group. A request that fails (a portal deleted meanwhile, a bad
   * row) must fail alone, so the group then runs again with a SAVEPOINT per request: the failing
   * one is rolled back to its savepoint and the others are still committed. The first run has no
   * savepoints: a failure is rare, and three statements per request instead of one halved intake.
   * Only a failing COMMIT (or a transaction SQLite gave up itself, e.g. on a full disk) fails every
   * request of the group. Nobody is answered before COMMIT.
   * @see https://www.sqlite.org/lang_savepoint.html
   */
  async function commitGroup(group: PendingInsert[]): Promise<Outcome[]> {
    if (group.length === 1) {
      // Alone in its transaction: the transaction is its savepoint.
      return runGroup(group, false).catch((err: unknown) => {
        throw err instanceof RequestFailed ? err.cause : err
      })
    }
    try {
      return await runGroup(group, false)
    } catch (err) {
      if (!(err instanceof RequestFailed)) throw err
      return runGroup(group, true)
    }
  }

  async function runGroup(group: PendingInsert[], isolate: boolean): Promise<Outcome[]> {
    const trx = await db.startTransaction().execute()
    try {
      const outcomes: Outcome[] = []
      for (const p of group) {
        if (!isolate) {
          try {
            outcomes.push({ ok: true, inserted: await insertRequest(trx, p) })
          } catch (err) {
            throw new RequestFailed(err)
          }
          continue
        }
        const sp = await trx.savepoint('request').execute()
        try {
          const inserted = await insertRequest(sp, p)
          await sp.releaseSavepoint('request').execute()
          outcomes.push({ ok: true, inserted })
        } catch (err) {
          // If this throws too, the transaction itself is gone: the whole group fails below.
          await sp.rollbackToSavepoint('request').execute()
          await sp.releaseSavepoint('request').execute()
          outcomes.push({ ok: false, err })
        }
      }
      await trx.commit().execute()
      return outcomes
    } catch (err) {
      // The cause is what callers must see; a rollback that fails too (the transaction is already gone) adds nothing.
      await trx
        .rollback()
        .execute()
        .catch(() => undefined)
      throw err
    }
  }

  function flushInserts(): void {
    const group = pendingInserts
    pendingInserts = []
    track(async () => {
      const outcomes = await commitGroup(group)
      if (counts)
        group.forEach((p, i) => {
          const o = outcomes[i]!
          if (o.ok) counts.add(p.memberId, 'received', o.inserted)
        })
      return outcomes
    }).then(
      (outcomes) =>
        group.forEach((p, i) => {
          const o = outcomes[i]!
          if (o.ok) p.resolve(o.inserted)
          else p.reject(o.err)
        }),
      (err: unknown) => {
        for (const p of group) p.reject(err)
      },
    )
  }

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
    /**
     * Store leads durably; a TikTok lead already stored for this portal (a retry) is skipped.
     * Resolves with how many were new once they are committed. Requests arriving in the same
     * tick share one transaction (group commit): one WAL write for many webhooks, each still
     * answered only after its own rows are committed, each in its own savepoint so that one
     * failing request does not fail the others. Any number of leads (inserted in chunks).
     */
    insertMany(
      memberId: string,
      leads: IncomingLead[],
      verify: { scheme: string; valid: boolean },
      nowMs = Date.now(),
    ): Promise<number> {
      if (leads.length === 0) return Promise.resolve(0)
      return new Promise((resolve, reject) => {
        pendingInserts.push({ memberId, leads, verify, nowMs, resolve, reject })
        if (pendingInserts.length === 1) setImmediate(flushInserts)
      })
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
    async claimDue(memberId: string, limit: number, nowMs = Date.now()): Promise<Lead[]> {
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

    /** One statement for a whole batch: this runs up to twice a second for every portal. */
    async markDelivered(
      items: Array<{ id: number; b24LeadId: number; b24ContactId?: number | null }>,
      nowMs = Date.now(),
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
        return db
          .updateTable('leads')
          .set({
            status: 'delivered',
            b24_lead_id: sql<number>`case id ${ids} end`,
            ...entity,
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
      nowMs = Date.now(),
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

    async markFailed(items: Array<{ id: number; error: string }>, nowMs = Date.now()): Promise<void> {
      if (items.length === 0) return
      await markEach(items, 'failed', (it) => ({
        status: 'failed',
        last_error: it.error,
        done_at: nowMs,
        updated_at: nowMs,
      }))
    },

    /**
     * Back to the queue after a transient failure, due again at `nextAttemptAt`. `notAttempted`:
     * Bitrix24 refused to run it at all (its operating limit), so the claim does not count as an attempt.
     */
    async requeue(
      ids: number[],
      nextAttemptAt: number,
      error: string | null,
      nowMs = Date.now(),
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

    async listSending(memberId: string, limit: number): Promise<Lead[]> {
      return db
        .selectFrom('leads')
        .selectAll()
        .where('member_id', '=', memberId)
        .where(isSending)
        .orderBy('id')
        .limit(limit)
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

    /** Still `sending`, but the outcome is unknown: note why, and restart the reconciliation clock. */
    async requeueUnknown(ids: number[], error: string, nowMs = Date.now()): Promise<void> {
      if (ids.length === 0) return
      await db
        .updateTable('leads')
        .set({ last_error: error, updated_at: nowMs })
        .where('id', 'in', ids)
        .where('status', '=', 'sending')
        .execute()
    },

    /** A person asked to send failed leads again (all of the portal's, or the given ids). */
    async resend(memberId: string, ids: number[] | 'all-failed', nowMs = Date.now()): Promise<number> {
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

    async countsAllPortals(): Promise<Array<{ member_id: string; status: LeadStatus; n: number }>> {
      const rows = await db
        .selectFrom('leads')
        .select(['member_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy(['member_id', 'status'])
        .execute()
      return rows.map((r) => ({ ...r, n: Number(r.n) }))
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

    /** Per UTC day since `sinceMs`: leads received, and leads finished per status with their delivery times. */
    async dailyStats(
      memberId: string,
      sinceMs: number,
    ): Promise<{
      received: Array<{ day: string; n: number }>
      done: Array<{ day: string; status: LeadStatus; n: number }>
    }> {
      const day = (col: 'received_at' | 'done_at') =>
        sql<string>`strftime('%Y-%m-%d', ${sql.ref(col)} / 1000, 'unixepoch')`
      const received = await db
        .selectFrom('leads')
        .select([day('received_at').as('day'), (eb) => eb.fn.countAll<number>().as('n')])
        .where('member_id', '=', memberId)
        .where('received_at', '>=', sinceMs)
        .groupBy('day')
        .execute()
      const done = await db
        .selectFrom('leads')
        .select([day('done_at').as('day'), 'status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('member_id', '=', memberId)
        .where('done_at', '>=', sinceMs)
        .where('status', 'in', ['delivered', 'duplicate', 'failed'])
        .groupBy(['day', 'status'])
        .execute()
      return {
        received: received.map((r) => ({ day: r.day, n: Number(r.n) })),
        done: done.map((r) => ({ ...r, n: Number(r.n) })),
      }
    },

    /** Median received→delivered time (ms) of leads delivered in [fromMs, toMs). */
    async medianDeliveryMs(memberId: string, fromMs: number, toMs: number): Promise<number | null> {
      const base = db
        .selectFrom('leads')
        .where('member_id', '=', memberId)
        .where('status', '=', 'delivered')
        .where('done_at', '>=', fromMs)
        .where('done_at', '<', toMs)
      const { n } = (await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst()) ?? { n: 0 }
      if (!Number(n)) return null
      const row = await base
        .select(sql<number>`done_at - received_at`.as('d'))
        .orderBy('d')
        .limit(1)
        .offset(Math.floor((Number(n) - 1) / 2))
        .executeTakeFirst()
      return row ? Number(row.d) : null
    },

    /** The oldest lead still waiting (pending or in flight), for "leads are stuck" warnings. */
    async oldestWaiting(memberId: string): Promise<Lead | undefined> {
      return db
        .selectFrom('leads')
        .selectAll()
        .where('member_id', '=', memberId)
        .where('status', 'in', ['received', 'queued', 'sending'])
        .orderBy('id')
        .limit(1)
        .executeTakeFirst()
    },

    async lastDeliveredAt(memberId: string): Promise<number | null> {
      const row = await db
        .selectFrom('leads')
        .select((eb) => eb.fn.max('done_at').as('at'))
        .where('member_id', '=', memberId)
        .where('status', '=', 'delivered')
        .executeTakeFirst()
      return row?.at ?? null
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

    /**
     * The stage a Bitrix24 lead (or deal) is at now, on every TikTok lead delivered to it (a
     * duplicate points at the same one). One statement per stage read.
     */
    async setStages(
      memberId: string,
      entity: B24Entity,
      stages: Array<{ b24Id: number; stageId: string; semantic: StageSemantic | null }>,
      nowMs = Date.now(),
    ): Promise<void> {
      if (stages.length === 0) return
      await db.transaction().execute(async (trx) => {
        for (const st of stages) {
          await trx
            .updateTable('leads')
            .set({ b24_stage_id: st.stageId, b24_stage_semantic: st.semantic, b24_stage_at: nowMs })
            .where('member_id', '=', memberId)
            .where('b24_entity', '=', entity)
            .where('b24_lead_id', '=', st.b24Id)
            .execute()
        }
      })
    },
  }
}
