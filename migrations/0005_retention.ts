import { type Kysely, sql } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  // The retention purge's query: finished leads that still hold a raw payload, oldest first.
  // Partial, so purged leads leave the index and each batch reads only what it changes.
  await sql`create index leads_retention on leads (done_at) where raw_json != ''`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index leads_retention`.execute(db)
}
