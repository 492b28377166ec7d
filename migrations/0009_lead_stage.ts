import { type Kysely, sql } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  // Where a delivered lead (or, in simple CRM mode, its deal) stands in Bitrix24 now, as last read
  // after an offline ONCRMLEADUPDATE / ONCRMDEALUPDATE: its STATUS_ID / STAGE_ID, the semantic
  // (P in progress, S won, F lost) and when we read it (unix ms).
  // @see https://apidocs.bitrix24.com/api-reference/events/offline-events.html
  await sql`alter table leads add column b24_stage_id text`.execute(db)
  await sql`alter table leads add column b24_stage_semantic text check (b24_stage_semantic is null or b24_stage_semantic in ('P', 'S', 'F'))`.execute(
    db,
  )
  await sql`alter table leads add column b24_stage_at integer`.execute(db)
  // An offline event names a Bitrix24 id: find our rows by it without scanning the portal's leads.
  await sql`create index leads_b24_id on leads (member_id, b24_lead_id) where b24_lead_id is not null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index leads_b24_id`.execute(db)
  await sql`alter table leads drop column b24_stage_at`.execute(db)
  await sql`alter table leads drop column b24_stage_semantic`.execute(db)
  await sql`alter table leads drop column b24_stage_id`.execute(db)
}
