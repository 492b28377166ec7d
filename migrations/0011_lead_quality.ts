import { type Kysely, sql } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  // Lead quality back to TikTok (Events API, CRM events), per connected ad account: the CRM event
  // set the admin picked (crm/list) and the stage map, JSON {"lead"|"deal": {stageId: event name
  // or null}}; null while none is chosen (then nothing is sent).
  // @see https://business-api.tiktok.com/portal/docs (Events API 2.0, CRM events)
  await sql`alter table tiktok_connections add column crm_event_set_id text`.execute(db)
  await sql`alter table tiktok_connections add column crm_event_set_name text`.execute(db)
  await sql`alter table tiktok_connections add column crm_stage_map_json text`.execute(db)

  // When a person first moved the lead (or its deal) away from its initial stage, unix ms; null until then.
  await sql`alter table leads add column first_contact_at integer`.execute(db)

  // Events waiting for (or done with) /event/track/. The row is the truth: a stage change is
  // enqueued in the transaction that stores it, and the unique key is TikTok's own dedup triple
  // (event_source_id + event_id + event), so a replayed change cannot enqueue twice and a resend
  // after an unknown outcome is one event at TikTok. event_time is unix seconds (TikTok's unit),
  // the other times unix ms.
  await db.schema
    .createTable('tiktok_event_outbox')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('member_id', 'text', (c) => c.notNull())
    .addColumn('lead_id', 'integer', (c) => c.notNull().references('leads.id').onDelete('cascade'))
    .addColumn('advertiser_id', 'text', (c) => c.notNull())
    .addColumn('event_set_id', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event_time', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'integer', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('sent_at', 'integer')
    .addCheckConstraint('tiktok_event_outbox_status', sql`status in ('pending', 'sent', 'too_old', 'failed')`)
    .addUniqueConstraint('tiktok_event_outbox_dedup', ['event_set_id', 'event_id', 'event'])
    .execute()
  await sql`create index tiktok_event_outbox_due on tiktok_event_outbox (next_attempt_at) where status = 'pending'`.execute(
    db,
  )
  await sql`create index tiktok_event_outbox_lead on tiktok_event_outbox (lead_id)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('tiktok_event_outbox').execute()
  await sql`alter table leads drop column first_contact_at`.execute(db)
  await sql`alter table tiktok_connections drop column crm_stage_map_json`.execute(db)
  await sql`alter table tiktok_connections drop column crm_event_set_name`.execute(db)
  await sql`alter table tiktok_connections drop column crm_event_set_id`.execute(db)
}
