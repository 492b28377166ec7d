import type { LeadCounts } from '../../metrics/lead-counts.js'
import type { DB } from '../database.js'

/**
 * Intake's write: leads stored durably before TikTok gets its 200, with the requests of one tick
 * sharing a transaction (group commit).
 */

/** Where a lead came from on TikTok, as the leads table's analytics columns (migration 0014). */
export interface LeadOrigin {
  advertiser_id: string | null
  campaign_id: string | null
  adgroup_id: string | null
  ad_id: string | null
  page_id: string | null
  campaign_name: string | null
  adgroup_name: string | null
  ad_name: string | null
  form_name: string | null
}

export interface IncomingLead {
  tiktokLeadId: string
  format: string
  isTest: boolean
  leadJson: string
  rawJson: string
  /** left out (a test lead): the columns stay null */
  origin?: LeadOrigin
}

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
 * Rows per INSERT statement. Each row binds 19 values, and SQLite refuses a statement with more
 * than 32,766 bound values (SQLITE_MAX_VARIABLE_NUMBER; one 3,277-lead request used to fail its
 * whole group commit): 500 rows (9,500 values) stay far below it.
 * @see https://www.sqlite.org/limits.html#max_variable_number
 */
export const INSERT_CHUNK_ROWS = 500

/** Every row binds the same columns (one statement shape per chunk size), so a test lead binds nulls. */
const NO_ORIGIN: LeadOrigin = {
  advertiser_id: null,
  campaign_id: null,
  adgroup_id: null,
  ad_id: null,
  page_id: null,
  campaign_name: null,
  adgroup_name: null,
  ad_name: null,
  form_name: null,
}

/** The group-committed insert of the lead repository; `counts` learns each request's new rows. */
export function createLeadInserter(db: DB, counts: LeadCounts | null) {
  let pendingInserts: PendingInsert[] = []
  const track = <T>(fn: () => Promise<T>): Promise<T> => (counts ? counts.track(fn) : fn())

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
            ...(l.origin ?? NO_ORIGIN),
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
      nowMs: number,
    ): Promise<number> {
      if (leads.length === 0) return Promise.resolve(0)
      return new Promise((resolve, reject) => {
        pendingInserts.push({ memberId, leads, verify, nowMs, resolve, reject })
        if (pendingInserts.length === 1) setImmediate(flushInserts)
      })
    },
  }
}
