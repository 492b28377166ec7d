import { type Kysely, sql } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  // One row per "Connect TikTok" press: single use, short-lived, bound to the portal and the user.
  await db.schema
    .createTable('tiktok_oauth_states')
    .addColumn('nonce', 'text', (c) => c.primaryKey())
    .addColumn('member_id', 'text', (c) => c.notNull().references('portals.member_id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull())
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'integer', (c) => c.notNull())
    .execute()

  // An approved authorisation waiting for the admin to pick ad accounts (the token stays sealed).
  await db.schema
    .createTable('tiktok_grants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('member_id', 'text', (c) => c.notNull().references('portals.member_id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull())
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('token_sealed', 'text', (c) => c.notNull())
    .addColumn('scope_json', 'text', (c) => c.notNull())
    .addColumn('advertisers_json', 'text', (c) => c.notNull())
    .addColumn('callback_url', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'integer', (c) => c.notNull())
    .execute()

  // One ad account serves one portal: advertiser_id is the key.
  await db.schema
    .createTable('tiktok_connections')
    .addColumn('advertiser_id', 'text', (c) => c.primaryKey())
    .addColumn('member_id', 'text', (c) => c.notNull().references('portals.member_id').onDelete('cascade'))
    .addColumn('advertiser_name', 'text', (c) => c.notNull())
    .addColumn('token_sealed', 'text', (c) => c.notNull())
    .addColumn('scope_json', 'text', (c) => c.notNull())
    .addColumn('callback_url', 'text', (c) => c.notNull())
    .addColumn('connected_by_id', 'integer', (c) => c.notNull())
    .addColumn('connected_by_name', 'text', (c) => c.notNull())
    .addColumn('connected_at', 'integer', (c) => c.notNull())
    .addColumn('import_days', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('all_forms', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('subscription_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('status_reason', 'text')
    .addColumn('last_check_at', 'integer')
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .addCheckConstraint(
      'tiktok_connections_status',
      sql`status in ('active', 'token_invalid', 'subscription_lost', 'error')`,
    )
    .execute()
  await db.schema.createIndex('tiktok_connections_member').on('tiktok_connections').column('member_id').execute()

  await db.schema
    .createTable('tiktok_forms')
    .addColumn('advertiser_id', 'text', (c) =>
      c.notNull().references('tiktok_connections.advertiser_id').onDelete('cascade'),
    )
    .addColumn('page_id', 'text', (c) => c.notNull())
    .addColumn('member_id', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('selected', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('subscription_id', 'text')
    .addColumn('fields_json', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('new_fields_json', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('last_backfill_at', 'integer')
    .addColumn('last_backfill_added', 'integer')
    .addColumn('last_backfill_error', 'text')
    .addColumn('test_lead_id', 'text')
    .addColumn('test_lead_at', 'integer')
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('tiktok_forms_pk', ['advertiser_id', 'page_id'])
    .execute()

  // Subscriptions to cancel at TikTok (after a disconnect, an uninstall, a form change). Outlives the
  // portal's rows on purpose: cancelling needs only the app's credentials, and TikTok may be down.
  await db.schema
    .createTable('tiktok_unsubscribe_outbox')
    .addColumn('subscription_id', 'text', (c) => c.primaryKey())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'integer', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'tiktok_unsubscribe_outbox',
    'tiktok_forms',
    'tiktok_connections',
    'tiktok_grants',
    'tiktok_oauth_states',
  ])
    await db.schema.dropTable(t).execute()
}
