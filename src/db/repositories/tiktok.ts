import type { Insertable, Updateable } from 'kysely'
import type { DB } from '../database.js'
import type {
  TikTokConnection,
  TikTokConnectionTable,
  TikTokForm,
  TikTokFormTable,
  TikTokGrant,
  TikTokOAuthStateTable,
} from '../schema.js'

export type TikTokRepository = ReturnType<typeof createTikTokRepository>

/**
 * The TikTok side of a portal: pending OAuth states and grants, connected ad accounts, their forms,
 * and subscriptions still to cancel. Tokens arrive and leave sealed (see crypto/secret-box.ts).
 */
export function createTikTokRepository(db: DB) {
  return {
    async saveState(row: TikTokOAuthStateTable): Promise<void> {
      await db.insertInto('tiktok_oauth_states').values(row).execute()
    },

    /** Single use: the row is deleted as it is read, so a replayed state finds nothing. */
    async consumeState(nonce: string): Promise<TikTokOAuthStateTable | undefined> {
      return db.deleteFrom('tiktok_oauth_states').where('nonce', '=', nonce).returningAll().executeTakeFirst()
    },

    async purgeExpired(nowMs: number): Promise<void> {
      await db.deleteFrom('tiktok_oauth_states').where('expires_at', '<', nowMs).execute()
      await db.deleteFrom('tiktok_grants').where('expires_at', '<', nowMs).execute()
    },

    async saveGrant(row: TikTokGrant): Promise<void> {
      // One pending grant per portal: a new approval replaces the last one.
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('tiktok_grants').where('member_id', '=', row.member_id).execute()
        await trx.insertInto('tiktok_grants').values(row).execute()
      })
    },

    async findGrant(memberId: string, nowMs: number): Promise<TikTokGrant | undefined> {
      return db
        .selectFrom('tiktok_grants')
        .selectAll()
        .where('member_id', '=', memberId)
        .where('expires_at', '>', nowMs)
        .executeTakeFirst()
    },

    async deleteGrant(memberId: string, id: string): Promise<void> {
      await db.deleteFrom('tiktok_grants').where('member_id', '=', memberId).where('id', '=', id).execute()
    },

    async findConnection(advertiserId: string): Promise<TikTokConnection | undefined> {
      return db
        .selectFrom('tiktok_connections')
        .selectAll()
        .where('advertiser_id', '=', advertiserId)
        .executeTakeFirst()
    },

    /** Which portal holds these ad accounts (to tell an agency where an account is connected). */
    async ownersOf(advertiserIds: string[]): Promise<Array<{ advertiser_id: string; member_id: string }>> {
      if (advertiserIds.length === 0) return []
      return db
        .selectFrom('tiktok_connections')
        .select(['advertiser_id', 'member_id'])
        .where('advertiser_id', 'in', advertiserIds)
        .execute()
    },

    async listConnections(memberId: string): Promise<TikTokConnection[]> {
      return db
        .selectFrom('tiktok_connections')
        .selectAll()
        .where('member_id', '=', memberId)
        .orderBy('connected_at')
        .execute()
    },

    async allConnections(): Promise<TikTokConnection[]> {
      return db.selectFrom('tiktok_connections').selectAll().execute()
    },

    /** Insert a connection; false when the ad account is already connected (to any portal). */
    async insertConnection(row: Insertable<TikTokConnectionTable>): Promise<boolean> {
      const res = await db
        .insertInto('tiktok_connections')
        .values(row)
        .onConflict((oc) => oc.column('advertiser_id').doNothing())
        .executeTakeFirst()
      return Number(res.numInsertedOrUpdatedRows ?? 0) === 1
    },

    async updateConnection(advertiserId: string, patch: Updateable<TikTokConnectionTable>): Promise<void> {
      await db.updateTable('tiktok_connections').set(patch).where('advertiser_id', '=', advertiserId).execute()
    },

    /**
     * Forget a connection (its token and forms) and queue all its subscriptions for cancelling,
     * in one transaction, so no subscription is forgotten without being queued.
     */
    async forgetConnection(advertiserId: string, nowMs: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const conn = await trx
          .selectFrom('tiktok_connections')
          .select('subscription_id')
          .where('advertiser_id', '=', advertiserId)
          .executeTakeFirst()
        if (!conn) return
        const forms = await trx
          .selectFrom('tiktok_forms')
          .select('subscription_id')
          .where('advertiser_id', '=', advertiserId)
          .execute()
        const ids = [conn.subscription_id, ...forms.map((f) => f.subscription_id)].filter((s): s is string => !!s)
        if (ids.length) {
          await trx
            .insertInto('tiktok_unsubscribe_outbox')
            .values(ids.map((subscription_id) => ({ subscription_id, next_attempt_at: nowMs, last_error: null })))
            .onConflict((oc) => oc.column('subscription_id').doNothing())
            .execute()
        }
        await trx.deleteFrom('tiktok_connections').where('advertiser_id', '=', advertiserId).execute()
      })
    },

    /** Uninstall: every connection of the portal is forgotten (subscriptions queued), and its pending grant. */
    async forgetPortal(memberId: string, nowMs: number): Promise<void> {
      for (const conn of await this.listConnections(memberId)) await this.forgetConnection(conn.advertiser_id, nowMs)
      await db.deleteFrom('tiktok_grants').where('member_id', '=', memberId).execute()
    },

    async listForms(advertiserId: string): Promise<TikTokForm[]> {
      return db
        .selectFrom('tiktok_forms')
        .selectAll()
        .where('advertiser_id', '=', advertiserId)
        .orderBy('title')
        .execute()
    },

    async formsOfPortal(memberId: string): Promise<TikTokForm[]> {
      return db.selectFrom('tiktok_forms').selectAll().where('member_id', '=', memberId).orderBy('title').execute()
    },

    async findForm(advertiserId: string, pageId: string): Promise<TikTokForm | undefined> {
      return db
        .selectFrom('tiktok_forms')
        .selectAll()
        .where('advertiser_id', '=', advertiserId)
        .where('page_id', '=', pageId)
        .executeTakeFirst()
    },

    /** A form seen in TikTok's list: new ones are inserted; known ones get their title and status. */
    async upsertForm(row: Insertable<TikTokFormTable>): Promise<void> {
      await db
        .insertInto('tiktok_forms')
        .values(row)
        .onConflict((oc) =>
          oc
            .columns(['advertiser_id', 'page_id'])
            .doUpdateSet({ title: row.title, status: row.status, updated_at: row.updated_at }),
        )
        .execute()
    },

    async updateForm(advertiserId: string, pageId: string, patch: Updateable<TikTokFormTable>): Promise<void> {
      await db
        .updateTable('tiktok_forms')
        .set(patch)
        .where('advertiser_id', '=', advertiserId)
        .where('page_id', '=', pageId)
        .execute()
    },

    async deleteForm(advertiserId: string, pageId: string): Promise<void> {
      await db
        .deleteFrom('tiktok_forms')
        .where('advertiser_id', '=', advertiserId)
        .where('page_id', '=', pageId)
        .execute()
    },

    async enqueueUnsubscribe(subscriptionIds: Array<string | null>, nowMs: number): Promise<void> {
      const ids = subscriptionIds.filter((s): s is string => !!s)
      if (ids.length === 0) return
      await db
        .insertInto('tiktok_unsubscribe_outbox')
        .values(ids.map((subscription_id) => ({ subscription_id, next_attempt_at: nowMs, last_error: null })))
        .onConflict((oc) => oc.column('subscription_id').doNothing())
        .execute()
    },

    async dueUnsubscribes(nowMs: number, limit = 50): Promise<Array<{ subscription_id: string; attempts: number }>> {
      return db
        .selectFrom('tiktok_unsubscribe_outbox')
        .select(['subscription_id', 'attempts'])
        .where('next_attempt_at', '<=', nowMs)
        .orderBy('next_attempt_at')
        .limit(limit)
        .execute()
    },

    async pendingUnsubscribes(): Promise<number> {
      const r = await db
        .selectFrom('tiktok_unsubscribe_outbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst()
      return Number(r?.n ?? 0)
    },

    async unsubscribed(subscriptionId: string): Promise<void> {
      await db.deleteFrom('tiktok_unsubscribe_outbox').where('subscription_id', '=', subscriptionId).execute()
    },

    async unsubscribeFailed(subscriptionId: string, error: string, nextAttemptAt: number): Promise<void> {
      await db
        .updateTable('tiktok_unsubscribe_outbox')
        .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error, next_attempt_at: nextAttemptAt }))
        .where('subscription_id', '=', subscriptionId)
        .execute()
    },
  }
}
