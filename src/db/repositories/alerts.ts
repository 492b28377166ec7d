import type { DB } from '../database.js'
import type { AlertState } from '../schema.js'

export type AlertRepository = ReturnType<typeof createAlertRepository>

/** How many administrators one alert goes to: one `batch` holds at most 50 commands. */
export const MAX_ADMINS = 50

/**
 * The administrators the app has seen per portal, the alert states (src/alerts/), and the few
 * reads over the leads table the alert conditions need (reads only; the lead repository writes).
 */
export function createAlertRepository(db: DB) {
  return {
    /** A verified user was seen: an administrator is remembered (or refreshed), anyone else forgotten. */
    async sawUser(memberId: string, userId: number, isAdmin: boolean, now: number): Promise<void> {
      if (!isAdmin) {
        // Rights can be taken away: someone who is no administrator now gets no more alerts.
        await db.deleteFrom('portal_admins').where('member_id', '=', memberId).where('user_id', '=', userId).execute()
        return
      }
      await db
        .insertInto('portal_admins')
        .values({ member_id: memberId, user_id: userId, last_seen_at: now })
        .onConflict((oc) => oc.columns(['member_id', 'user_id']).doUpdateSet({ last_seen_at: now }))
        .execute()
    },

    /** The remembered administrators, the most recently seen first. */
    async admins(memberId: string): Promise<number[]> {
      const rows = await db
        .selectFrom('portal_admins')
        .select('user_id')
        .where('member_id', '=', memberId)
        .orderBy('last_seen_at', 'desc')
        .limit(MAX_ADMINS)
        .execute()
      return rows.map((r) => r.user_id)
    },

    async find(memberId: string, kind: string): Promise<AlertState | undefined> {
      return db
        .selectFrom('alert_states')
        .selectAll()
        .where('member_id', '=', memberId)
        .where('kind', '=', kind)
        .executeTakeFirst()
    },

    async list(memberId: string): Promise<AlertState[]> {
      return db.selectFrom('alert_states').selectAll().where('member_id', '=', memberId).orderBy('kind').execute()
    },

    /**
     * The condition holds. A new start (not yet sent) when it was not active, unless the admins
     * were never told it ended (its "resolved" notice still due): for them it never stopped, so
     * the alert they have stays sent and the resolved notice is dropped. While active only its
     * detail changes (the alert already sent stays sent: one alert per burst).
     */
    async raise(memberId: string, kind: string, detail: string | null, now: number): Promise<AlertState> {
      await db
        .insertInto('alert_states')
        .values({
          member_id: memberId,
          kind,
          active: 1,
          started_at: now,
          last_sent_at: null,
          resolved_at: null,
          detail,
        })
        .onConflict((oc) =>
          oc.columns(['member_id', 'kind']).doUpdateSet((eb) => {
            const goesOn = eb.or([
              eb('alert_states.active', '=', 1),
              eb.and([eb('alert_states.resolved_at', 'is', null), eb('alert_states.last_sent_at', 'is not', null)]),
            ])
            return {
              detail,
              started_at: eb.case().when(goesOn).then(eb.ref('alert_states.started_at')).else(now).end(),
              last_sent_at: eb.case().when(goesOn).then(eb.ref('alert_states.last_sent_at')).else(null).end(),
              resolved_at: null,
              active: 1,
            }
          }),
        )
        .execute()
      return (await this.find(memberId, kind))!
    },

    /**
     * The condition is over; answers the row as it was when it was active (else undefined). An
     * alert the admins got keeps resolved_at null: its "resolved" notice is due until markResolvedSent
     * (a failed send or a crash leaves it due, and the next check sends it). One they never got
     * has nothing to tell: settled at once.
     */
    async resolve(memberId: string, kind: string, now: number): Promise<AlertState | undefined> {
      const was = await this.find(memberId, kind)
      if (!was || was.active !== 1) return undefined
      await db
        .updateTable('alert_states')
        .set((eb) => ({
          active: 0,
          resolved_at: eb.case().when('alert_states.last_sent_at', 'is', null).then(now).else(null).end(),
        }))
        .where('member_id', '=', memberId)
        .where('kind', '=', kind)
        .where('active', '=', 1)
        .execute()
      return was
    },

    /** Bitrix24 accepted the alert while the condition holds: sent (the repeat interval runs from `at`). */
    async markSent(memberId: string, kind: string, at: number): Promise<void> {
      await db
        .updateTable('alert_states')
        .set({ last_sent_at: at })
        .where('member_id', '=', memberId)
        .where('kind', '=', kind)
        .where('active', '=', 1)
        .execute()
    },

    /** Bitrix24 accepted the "resolved" notice: the end is settled (nothing more is due). */
    async markResolvedSent(memberId: string, kind: string, at: number): Promise<void> {
      await db
        .updateTable('alert_states')
        .set({ resolved_at: at })
        .where('member_id', '=', memberId)
        .where('kind', '=', kind)
        .where('active', '=', 0)
        .where('resolved_at', 'is', null)
        .execute()
    },

    /** The latest failed lead's error (the leads_member_status index finds it; the count is in memory). */
    async lastFailedError(memberId: string): Promise<string | null> {
      const last = await db
        .selectFrom('leads')
        .select('last_error')
        .where('member_id', '=', memberId)
        .where('status', '=', 'failed')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst()
      return last?.last_error ?? null
    },

    /** When the portal's latest real (not test) lead arrived (unix ms), or null. */
    async lastLeadAt(memberId: string): Promise<number | null> {
      const row = await db
        .selectFrom('leads')
        .select((eb) => eb.fn.max('received_at').as('at'))
        .where('member_id', '=', memberId)
        .where('is_test', '=', 0)
        .executeTakeFirst()
      return row?.at == null ? null : Number(row.at)
    },

    /** Whether a real lead arrived in [from, to) (the member/received_at index answers it). */
    async anyLeadBetween(memberId: string, from: number, to: number): Promise<boolean> {
      const row = await db
        .selectFrom('leads')
        .select('id')
        .where('member_id', '=', memberId)
        .where('received_at', '>=', from)
        .where('received_at', '<', to)
        .where('is_test', '=', 0)
        .limit(1)
        .executeTakeFirst()
      return row !== undefined
    },
  }
}
