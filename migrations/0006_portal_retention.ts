import { type Kysely, sql } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  // A portal's own retention in days: null = the server's RETENTION_DAYS, 0 = keep everything.
  await sql`alter table portal_settings add column retention_days integer check (retention_days is null or retention_days between 0 and 36500)`.execute(
    db,
  )
  // The purge now runs portal by portal: the same partial index (finished leads that still hold a
  // raw payload), led by the portal, so each batch still reads only the leads it changes. It
  // replaces leads_retention, which nothing reads any more and every lead write would still pay for.
  await sql`create index leads_retention_member on leads (member_id, done_at) where raw_json != ''`.execute(db)
  await sql`drop index leads_retention`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index leads_retention on leads (done_at) where raw_json != ''`.execute(db)
  await sql`drop index leads_retention_member`.execute(db)
  await sql`alter table portal_settings drop column retention_days`.execute(db)
}
