import { type Kysely, sql } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  // The portal's CRM mode from crm.settings.mode.get: 1 classic (leads on), 2 simple (leads off,
  // each lead goes as a contact + a deal), null not known yet. Checked at install and re-checked
  // now and then (unix ms of the last check), since an admin may switch it at any time.
  // @see https://apidocs.bitrix24.com/api-reference/crm/crm-settings-mode-get.html
  await sql`alter table portals add column crm_mode integer check (crm_mode is null or crm_mode in (1, 2))`.execute(db)
  await sql`alter table portals add column crm_mode_checked_at integer`.execute(db)
  // What a delivered lead became in Bitrix24: a 'lead', or in simple mode a 'deal' (its id kept in
  // b24_lead_id, so every reader of that column keeps working) with the contact it is bound to.
  await sql`alter table leads add column b24_entity text not null default 'lead' check (b24_entity in ('lead', 'deal'))`.execute(
    db,
  )
  await sql`alter table leads add column b24_contact_id integer`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table leads drop column b24_contact_id`.execute(db)
  await sql`alter table leads drop column b24_entity`.execute(db)
  await sql`alter table portals drop column crm_mode_checked_at`.execute(db)
  await sql`alter table portals drop column crm_mode`.execute(db)
}
