import { type Kysely, sql } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  // Where a TikTok lead came from (ad account, campaign, ad group, ad, instant form) as columns, so
  // the analytics group by them in SQL instead of parsing every lead's JSON. Intake fills them.
  for (const column of [
    'advertiser_id',
    'campaign_id',
    'adgroup_id',
    'ad_id',
    'page_id',
    'campaign_name',
    'adgroup_name',
    'ad_name',
    'form_name',
  ])
    await sql`alter table leads add column ${sql.raw(column)} text`.execute(db)
  // Leads stored before: from their normalised lead (lead_json), which the retention purge keeps
  // apart from the answers (it empties raw_json and the answers only), so every row can be filled.
  // A lead_json that is not JSON (none is written so) stays null rather than failing the upgrade.
  await sql`
    update leads set
      advertiser_id = json_extract(lead_json, '$.advertiserId'),
      campaign_id = json_extract(lead_json, '$.campaignId'),
      adgroup_id = json_extract(lead_json, '$.adgroupId'),
      ad_id = json_extract(lead_json, '$.adId'),
      page_id = coalesce(json_extract(lead_json, '$.pageId'), json_extract(lead_json, '$.formId')),
      campaign_name = json_extract(lead_json, '$.campaignName'),
      adgroup_name = json_extract(lead_json, '$.adgroupName'),
      ad_name = json_extract(lead_json, '$.adName'),
      form_name = coalesce(json_extract(lead_json, '$.formName'), json_extract(lead_json, '$.pageName'))
    where json_valid(lead_json)`.execute(db)
  // Covering indexes for the analytics, so they never read the table's rows (a row holds the
  // lead's JSON and raw body), in grouping order, so grouping needs no sort (a sort of a million
  // rows was most of the time): campaigns, ad groups and ads nest (an ad group is in one
  // campaign, an ad in one ad group), so one index serves the three levels; a form is used by
  // ads of any campaign, so it has its own. A period is then a filter on received_at inside the
  // portal's range of the index: a million leads are read in well under a second either way.
  // first_contact_at is 0011's and done_at the delivery time: the time to first contact is their
  // difference. Test leads are left out of both and of the analytics.
  await sql`
    create index leads_analytics on leads (
      member_id, campaign_id, adgroup_id, ad_id, received_at, status, b24_stage_semantic, b24_stage_id,
      first_contact_at, done_at, advertiser_id, campaign_name, adgroup_name, ad_name
    ) where is_test = 0`.execute(db)
  await sql`
    create index leads_analytics_form on leads (
      member_id, page_id, received_at, status, b24_stage_semantic, b24_stage_id, first_contact_at, done_at,
      advertiser_id, form_name
    ) where is_test = 0`.execute(db)

  // TikTok's daily spend per ad account, level (campaign, adgroup, ad) and entity, as
  // report/integrated/get answered it; a day asked for is in tiktok_spend_days even when it had no
  // spend (TikTok then lists nothing), so it is not asked for again. Times are unix ms. The spend's
  // key puts the entity before the day: the analytics look an entity's days up by it.
  await sql`
    create table tiktok_spend_days (
      advertiser_id text not null,
      level text not null check (level in ('campaign', 'adgroup', 'ad')),
      day text not null,
      fetched_at integer not null,
      primary key (advertiser_id, level, day)
    ) without rowid`.execute(db)
  await sql`
    create table tiktok_spend (
      advertiser_id text not null,
      level text not null check (level in ('campaign', 'adgroup', 'ad')),
      day text not null,
      entity_id text not null,
      spend real not null,
      impressions integer not null,
      clicks integer not null,
      primary key (advertiser_id, level, entity_id, day)
    ) without rowid`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table tiktok_spend`.execute(db)
  await sql`drop table tiktok_spend_days`.execute(db)
  await sql`drop index leads_analytics_form`.execute(db)
  await sql`drop index leads_analytics`.execute(db)
  for (const column of [
    'form_name',
    'ad_name',
    'adgroup_name',
    'campaign_name',
    'page_id',
    'ad_id',
    'adgroup_id',
    'campaign_id',
    'advertiser_id',
  ])
    await sql`alter table leads drop column ${sql.raw(column)}`.execute(db)
}
