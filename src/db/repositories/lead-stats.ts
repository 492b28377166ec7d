import { sql } from 'kysely'
import type { DB } from '../database.js'
import type { Lead, LeadStatus } from '../schema.js'
import { DELIVERY_MS, FIRST_CONTACT_MS } from './lead-times.js'

export type LeadStatsRepository = ReturnType<typeof createLeadStatsRepository>

interface Medians {
  medianDeliveryMs: number | null
  medianFirstContactMs: number | null
}

export interface DailyStats {
  received: Array<{ day: string; n: number }>
  /** per day and finishing status; the medians are of delivered leads (null for the other statuses) */
  done: Array<{ day: string; status: LeadStatus; n: number } & Medians>
  /** the delivered leads of the whole range */
  range: Medians
}

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

    /**
     * The overview's numbers in one statement: per UTC day from `sinceMs` (a day's start) to
     * `untilMs`, the leads received, and the leads finished per status with the medians of the
     * delivered ones (received → delivered; delivered → first contact, over those someone has
     * worked); and the same two medians over the whole range (`range`). Medians are SQLite's
     * median() over the shared expressions of lead-times.ts. The finished part reads
     * leads_delivered_done and leads_member_status, the received part leads_member_received.
     */
    async dailyStats(memberId: string, sinceMs: number, untilMs: number): Promise<DailyStats> {
      const day = (col: 'received_at' | 'done_at') => `strftime('%Y-%m-%d', ${col} / 1000, 'unixepoch')`
      const rows = await sql<{
        part: 'received' | 'done' | 'range'
        day: string | null
        status: LeadStatus | null
        n: number
        delivery_ms: number | null
        contact_ms: number | null
      }>`
        select 'received' as part, ${sql.raw(day('received_at'))} as day, null as status, count(*) as n,
          null as delivery_ms, null as contact_ms
        from leads
        where member_id = ${memberId} and received_at >= ${sinceMs} and received_at < ${untilMs}
        group by 2
        union all
        select 'done', ${sql.raw(day('done_at'))}, status, count(*),
          median(case when status = 'delivered' then ${sql.raw(DELIVERY_MS)} end),
          median(case when status = 'delivered' then ${sql.raw(FIRST_CONTACT_MS)} end)
        from leads
        where member_id = ${memberId} and done_at >= ${sinceMs} and done_at < ${untilMs}
          and status in ('delivered', 'duplicate', 'failed')
        group by 2, 3
        union all
        select 'range', null, null, count(*), median(${sql.raw(DELIVERY_MS)}), median(${sql.raw(FIRST_CONTACT_MS)})
        from leads
        where member_id = ${memberId} and status = 'delivered' and done_at >= ${sinceMs} and done_at < ${untilMs}`.execute(
        db,
      )
      const out: DailyStats = { received: [], done: [], range: { medianDeliveryMs: null, medianFirstContactMs: null } }
      const ms = (v: number | null) => (v === null ? null : Math.round(Number(v)))
      for (const r of rows.rows) {
        if (r.part === 'received') out.received.push({ day: r.day!, n: Number(r.n) })
        else if (r.part === 'done')
          out.done.push({
            day: r.day!,
            status: r.status!,
            n: Number(r.n),
            medianDeliveryMs: ms(r.delivery_ms),
            medianFirstContactMs: ms(r.contact_ms),
          })
        else out.range = { medianDeliveryMs: ms(r.delivery_ms), medianFirstContactMs: ms(r.contact_ms) }
      }
      return out
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
