/**
 * Migration 0014 on a database with leads already in it: each lead's origin columns are filled
 * from its stored normalised lead, also for a lead whose payload and answers the retention purge
 * emptied (the purge keeps the ad metadata in lead_json); down and up again (0016 replaces 0014's
 * indexes and gives them back going down). The query plan is query-plan.test.ts's.
 */
import { sql } from 'kysely'
import t from 'tap'
import { migrations } from '../../migrations/index.js'
import { openDatabase } from '../../src/db/database.js'
import { createMigrator, migrateToLatest } from '../../src/db/migrate.js'
import { portalTableRow } from '../fixtures.js'

const names = Object.keys(migrations)
const before = names[names.indexOf('0014_analytics') - 1]!

t.test('existing leads get their origin columns from lead_json', async (t) => {
  const { db } = openDatabase(':memory:')
  t.teardown(() => db.destroy())
  const { error } = await createMigrator(db).migrateTo(before)
  t.error(error)
  await db.insertInto('portals').values(portalTableRow('m1')).execute()
  const lead = (id: string, extra: Record<string, unknown>) =>
    JSON.stringify({
      leadId: id,
      format: 'notification',
      createdAt: null,
      formId: null,
      formName: null,
      pageId: null,
      pageName: null,
      advertiserId: null,
      advertiserName: null,
      campaignId: null,
      campaignName: null,
      adgroupId: null,
      adgroupName: null,
      adId: null,
      adName: null,
      answers: [],
      ...extra,
    })
  const rows: Array<[string, string, string]> = [
    [
      'full',
      lead('full', {
        advertiserId: '7100',
        campaignId: '1810',
        campaignName: 'Spring',
        adgroupId: '1820',
        adgroupName: 'Hanoi',
        adId: '1830',
        adName: 'Video',
        pageId: '7300',
        pageName: 'Page title',
        formName: 'Form name',
      }),
      '{"raw":true}',
    ],
    // Purged: no raw payload, no answers; the metadata is still in lead_json.
    ['purged', lead('purged', { campaignId: '1811', formId: '7301', pageName: 'Only page name' }), ''],
    ['bare', lead('bare', {}), ''],
    ['broken', 'not json', ''],
  ]
  for (const [id, leadJson, raw] of rows)
    await sql`insert into leads (member_id, tiktok_lead_id, format, lead_json, raw_json, received_at, updated_at)
      values ('m1', ${id}, 'notification', ${leadJson}, ${raw}, 1, 1)`.execute(db)

  await migrateToLatest(db)
  const got = await db
    .selectFrom('leads')
    .select([
      'tiktok_lead_id',
      'advertiser_id',
      'campaign_id',
      'campaign_name',
      'adgroup_id',
      'adgroup_name',
      'ad_id',
      'ad_name',
      'page_id',
      'form_name',
    ])
    .orderBy('id')
    .execute()
  t.same(got, [
    {
      tiktok_lead_id: 'full',
      advertiser_id: '7100',
      campaign_id: '1810',
      campaign_name: 'Spring',
      adgroup_id: '1820',
      adgroup_name: 'Hanoi',
      ad_id: '1830',
      ad_name: 'Video',
      page_id: '7300',
      form_name: 'Form name',
    },
    {
      tiktok_lead_id: 'purged',
      advertiser_id: null,
      campaign_id: '1811',
      campaign_name: null,
      adgroup_id: null,
      adgroup_name: null,
      ad_id: null,
      ad_name: null,
      page_id: '7301',
      form_name: 'Only page name',
    },
    ...['bare', 'broken'].map((id) => ({
      tiktok_lead_id: id,
      advertiser_id: null,
      campaign_id: null,
      campaign_name: null,
      adgroup_id: null,
      adgroup_name: null,
      ad_id: null,
      ad_name: null,
      page_id: null,
      form_name: null,
    })),
  ])

  // Down and up again: the migration is reversible.
  t.error((await createMigrator(db).migrateTo(before)).error)
  t.error((await createMigrator(db).migrateToLatest()).error)
})
