import { sql } from 'kysely'
import type { DB } from '../database.js'
import type { Lead, LeadStatus } from '../schema.js'

export type LeadStatsRepository = ReturnType<typeof createLeadStatsRepository>

/**
 * The settings tab's statistics over the leads table: per-day counts, delivery times, the oldest
 * lead still waiting. Reads only; the lead repository does every write.
 */
export function createLeadStatsRepository(db: DB) {
  return {
    async countsAllPortals(): Promise<Array<{ member_id: string; status: LeadStatus; n: number }>> {
      const rows = await db
        .selectFrom('leads')
        .select(['member_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy(['member_id', 'status'])
        .execute()
      return rows.map((r) => ({ ...r, n: Number(r.n) }))
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

    /**
     * Median delivery→first contact time (ms) of leads delivered in [fromMs, toMs) that someone
     * has worked (first_contact_at: the first stage change or completed activity after delivery);
     * null when none has been yet. Reads the partial index leads_delivered_done (member_id, done_at).
     */
    async medianFirstContactMs(memberId: string, fromMs: number, toMs: number): Promise<number | null> {
      const base = db
        .selectFrom('leads')
        .where('member_id', '=', memberId)
        .where('status', '=', 'delivered')
        .where('done_at', '>=', fromMs)
        .where('done_at', '<', toMs)
        .where('first_contact_at', 'is not', null)
      const { n } = (await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst()) ?? { n: 0 }
      if (!Number(n)) return null
      // The middle value, or the mean of the two middle ones when the count is even.
      const rows = await base
        .select(sql<number>`max(first_contact_at - done_at, 0)`.as('d'))
        .orderBy('d')
        .limit(Number(n) % 2 === 0 ? 2 : 1)
        .offset(Math.floor((Number(n) - 1) / 2))
        .execute()
      return rows.length ? Math.round(rows.reduce((sum, r) => sum + Number(r.d), 0) / rows.length) : null
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
  }
}
