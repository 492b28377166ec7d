import { type Kysely, sql } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  // The stage the app wrote the Bitrix24 lead (or, in simple CRM mode, its deal) at: the mapped
  // STATUS_ID / STAGE_ID, or the initial stage when the mapping sets none. A stage read after an
  // offline event is a person's move only if it differs from the stage known before it (this one
  // until the first read), so a mapped in-progress stage is no first contact and sends no event.
  // Leads delivered before stay null: their first read is judged by the initial-stage rule.
  await sql`alter table leads add column b24_delivered_stage_id text`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table leads drop column b24_delivered_stage_id`.execute(db)
}
