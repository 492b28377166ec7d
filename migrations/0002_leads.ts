import { type Kysely, sql } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('portal_settings')
    .addColumn('member_id', 'text', (c) => c.primaryKey().references('portals.member_id').onDelete('cascade'))
    .addColumn('webhook_key', 'text', (c) => c.notNull().unique())
    .addColumn('signing_secret', 'text', (c) => c.notNull())
    .addColumn('previous_secret', 'text')
    .addColumn('previous_secret_until', 'integer')
    .addColumn('verify_mode', 'text', (c) => c.notNull().defaultTo('log_only'))
    .addColumn('rate_per_s', 'integer', (c) => c.notNull().defaultTo(2))
    .addColumn('dedup_policy', 'text', (c) => c.notNull().defaultTo('off'))
    .addColumn('default_country', 'text')
    .addColumn('mapping_json', 'text', (c) => c.notNull().defaultTo('{"rules":[],"constants":{}}'))
    .addColumn('last_verify_scheme', 'text')
    .addColumn('last_verify_detail', 'text')
    .addColumn('last_webhook_at', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addCheckConstraint('portal_settings_verify_mode', sql`verify_mode in ('log_only', 'enforce')`)
    .addCheckConstraint('portal_settings_dedup', sql`dedup_policy in ('off', 'skip', 'update', 'link')`)
    .addCheckConstraint('portal_settings_rate', sql`rate_per_s between 1 and 50`)
    .execute()

  await db.schema
    .createTable('leads')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('member_id', 'text', (c) => c.notNull().references('portals.member_id').onDelete('cascade'))
    .addColumn('tiktok_lead_id', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('is_test', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('received'))
    .addColumn('lead_json', 'text', (c) => c.notNull())
    .addColumn('raw_json', 'text', (c) => c.notNull())
    .addColumn('verify_scheme', 'text')
    .addColumn('verify_valid', 'integer')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('b24_lead_id', 'integer')
    .addColumn('duplicate_of', 'text')
    .addColumn('last_error', 'text')
    .addColumn('received_at', 'integer', (c) => c.notNull())
    .addColumn('sent_at', 'integer')
    .addColumn('done_at', 'integer')
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .addUniqueConstraint('leads_member_tiktok', ['member_id', 'tiktok_lead_id'])
    .addCheckConstraint(
      'leads_status',
      sql`status in ('received', 'queued', 'sending', 'delivered', 'duplicate', 'failed')`,
    )
    .execute()
  // The dispatcher's hot query: a portal's due work, oldest first. Partial so finished leads cost nothing.
  await sql`create index leads_due on leads (member_id, next_attempt_at, id) where status in ('received', 'queued')`.execute(
    db,
  )
  await sql`create index leads_sending on leads (member_id, id) where status = 'sending'`.execute(db)
  await db.schema.createIndex('leads_member_status').on('leads').columns(['member_id', 'status', 'id']).execute()
  await db.schema.createIndex('leads_member_received').on('leads').columns(['member_id', 'received_at']).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('leads').execute()
  await db.schema.dropTable('portal_settings').execute()
}
