import type { Kysely } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  // A rotated-out webhook key keeps accepting leads until previous_webhook_key_until (unix ms).
  await db.schema.alterTable('portal_settings').addColumn('previous_webhook_key', 'text').execute()
  await db.schema.alterTable('portal_settings').addColumn('previous_webhook_key_until', 'integer').execute()
  // The first ONAPPINSTALL is believed only until this time (unix ms), set by the install POST.
  await db.schema.alterTable('portal_settings').addColumn('install_event_until', 'integer').execute()
  await db.schema
    .createIndex('portal_settings_previous_webhook_key')
    .on('portal_settings')
    .column('previous_webhook_key')
    .execute()
}
