import { type Kysely, sql } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  // The app version installed on the portal as app.info last said it (VERSION), and the version the
  // stored application_token came with. They differ when Bitrix24 updated the app and its
  // ONAPPUPDATE (the only carrier of the new token besides the install and frame POSTs) was lost:
  // events with the new token are then refused until the token is taken again.
  // @see https://apidocs.bitrix24.com/api-reference/common/system/app-info.html
  // @see https://apidocs.bitrix24.com/api-reference/common/events/on-app-update.html
  await sql`alter table portals add column app_version text`.execute(db)
  await sql`alter table portals add column app_token_version text`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table portals drop column app_token_version`.execute(db)
  await sql`alter table portals drop column app_version`.execute(db)
}
