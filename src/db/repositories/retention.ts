import { sql } from 'kysely'
import type { DB } from '../database.js'

export type RetentionRepository = ReturnType<typeof createRetentionRepository>

/**
 * Small batched purges of data kept past its use. Each call is one short statement, so the
 * intake's group commits run between batches. One portal at a time (each has its own retention),
 * written as SQL literals where the partial index (leads_retention_member) must match.
 */
export function createRetentionRepository(db: DB) {
  return {
    /** Every portal with its own retention setting (null: the server default applies). */
    async portalRetention(): Promise<Array<{ member_id: string; retention_days: number | null }>> {
      return db
        .selectFrom('portals as p')
        .leftJoin('portal_settings as s', 's.member_id', 'p.member_id')
        .select(['p.member_id', 's.retention_days'])
        .orderBy('p.member_id')
        .execute()
    },

    /**
     * Up to `limit` of the portal's finished leads done before `beforeMs` lose their raw payload;
     * delivered and duplicate ones also lose their answers (the personal data now lives in
     * Bitrix24). A failed lead keeps its answers so a person can still re-send it from the log.
     * Reads the partial index leads_retention_member. Returns leads changed.
     */
    async purgeLeadPayloads(memberId: string, beforeMs: number, limit: number): Promise<number> {
      const res = await sql`
        update leads
        set raw_json = '',
            lead_json = case when status in ('delivered', 'duplicate') then json_set(lead_json, '$.answers', json('[]')) else lead_json end
        where id in (
          select id from leads
          where member_id = ${memberId} and raw_json != '' and done_at < ${beforeMs} and status in ('delivered', 'duplicate', 'failed')
          order by done_at
          limit ${limit}
        )`.execute(db)
      return Number(res.numAffectedRows ?? 0)
    },

    /**
     * Up to `limit` of the portal's events received before `beforeIso` go. Ids grow with time, so
     * only the portal's oldest `limit` rows are looked at (index portal_events_member): a batch
     * never scans the table.
     */
    async purgeEvents(memberId: string, beforeIso: string, limit: number): Promise<number> {
      const res = await sql`
        delete from portal_events
        where id in (select id from portal_events where member_id = ${memberId} order by id limit ${limit}) and received_at < ${beforeIso}`.execute(
        db,
      )
      return Number(res.numAffectedRows ?? 0)
    },
  }
}
