import { sql } from 'kysely'
import type { DB } from '../database.js'

export type RetentionRepository = ReturnType<typeof createRetentionRepository>

/**
 * Small batched purges of data kept past its use. Each call is one short statement, so the
 * intake's group commits run between batches. Written as SQL literals where a partial index
 * (leads_retention) must match.
 */
export function createRetentionRepository(db: DB) {
  return {
    /**
     * Up to `limit` finished leads done before `beforeMs` lose their raw payload; delivered and
     * duplicate ones also lose their answers (the personal data now lives in Bitrix24). A failed
     * lead keeps its answers so a person can still re-send it from the log. Returns leads changed.
     */
    async purgeLeadPayloads(beforeMs: number, limit: number): Promise<number> {
      const res = await sql`
        update leads
        set raw_json = '',
            lead_json = case when status in ('delivered', 'duplicate') then json_set(lead_json, '$.answers', json('[]')) else lead_json end
        where id in (
          select id from leads
          where raw_json != '' and done_at < ${beforeMs} and status in ('delivered', 'duplicate', 'failed')
          order by done_at
          limit ${limit}
        )`.execute(db)
      return Number(res.numAffectedRows ?? 0)
    },

    /**
     * Up to `limit` portal events received before `beforeIso` go. Ids grow with time, so only the
     * oldest `limit` rows are looked at: a batch never scans the table.
     */
    async purgeEvents(beforeIso: string, limit: number): Promise<number> {
      const res = await sql`
        delete from portal_events
        where id in (select id from portal_events order by id limit ${limit}) and received_at < ${beforeIso}`.execute(db)
      return Number(res.numAffectedRows ?? 0)
    },
  }
}
