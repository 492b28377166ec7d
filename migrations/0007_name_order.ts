import { type Kysely, sql } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  // How a full name is split into NAME / LAST_NAME: 'auto' = by the portal's country/language.
  await sql`alter table portal_settings add column name_order text not null default 'auto' check (name_order in ('auto', 'given_first', 'family_first', 'full_in_name'))`.execute(
    db,
  )
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table portal_settings drop column name_order`.execute(db)
}
