import { type Kysely, sql } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('portals')
    .addColumn('member_id', 'text', (c) => c.primaryKey())
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('client_endpoint', 'text', (c) => c.notNull())
    .addColumn('server_endpoint', 'text', (c) => c.notNull())
    .addColumn('access_token', 'text')
    .addColumn('refresh_token', 'text')
    .addColumn('expires_at', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('scope', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('app_status', 'text', (c) => c.notNull().defaultTo('L'))
    .addColumn('lang', 'text', (c) => c.notNull().defaultTo('en'))
    .addColumn('installer_user_id', 'integer')
    .addColumn('application_token', 'text')
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('state_reason', 'text')
    .addColumn('installed_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('uninstalled_at', 'text')
    .addCheckConstraint('portals_state', sql`state in ('active', 'needs_reauth', 'uninstalled')`)
    .execute()

  await db.schema
    .createTable('portal_events')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('member_id', 'text', (c) => c.notNull().references('portals.member_id').onDelete('cascade'))
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('portal_events_member').on('portal_events').columns(['member_id', 'id']).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('portal_events').execute()
  await db.schema.dropTable('portals').execute()
}
