/**
 * A real in-memory SQLite with one portal, two connected ad accounts (adv1 with the CRM event set
 * set1 and a lead stage map, adv2 with none) and a way to add delivered leads.
 */
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { createQualityRepository } from '../../src/db/repositories/quality.js'
import { portalTableRow } from '../fixtures.js'

export const NOW = Date.UTC(2026, 11, 3, 12, 0, 0)
export const DAY = 86_400_000

export async function setup() {
  const { db } = openDatabase(':memory:')
  await migrateToLatest(db)
  await db.insertInto('portals').values(portalTableRow('m1')).execute()
  for (const [adv, set] of [
    ['adv1', 'set1'],
    ['adv2', null],
  ] as const)
    await db
      .insertInto('tiktok_connections')
      .values({
        advertiser_id: adv,
        member_id: 'm1',
        advertiser_name: adv,
        token_sealed: 'x',
        scope_json: '[]',
        callback_url: 'https://app.example/tiktok/webhook/k',
        connected_by_id: 1,
        connected_by_name: 'Anna',
        connected_at: NOW,
        updated_at: NOW,
        crm_event_set_id: set,
        crm_stage_map_json: set
          ? JSON.stringify({ lead: { NEW: null, IN_PROCESS: 'Contacted', PROCESSED: 'Qualified' } })
          : null,
      })
      .execute()
  let b24 = 100
  /** A delivered lead of `advertiserId` (the column intake fills, migration 0014) on Bitrix24 lead b24Id. */
  const lead = async (
    tiktokId: string,
    advertiserId: string,
    isTest = false,
    opts: { status?: 'delivered' | 'duplicate'; deliveredStage?: string | null; b24Id?: number } = {},
  ) => {
    const b24Id = opts.b24Id ?? b24++
    const res = await db
      .insertInto('leads')
      .values({
        member_id: 'm1',
        tiktok_lead_id: tiktokId,
        format: 'push',
        is_test: isTest ? 1 : 0,
        status: opts.status ?? 'delivered',
        // The normalised lead does not name the ad account: the column is what counts.
        lead_json: JSON.stringify({ leadId: tiktokId, answers: [] }),
        advertiser_id: advertiserId,
        b24_delivered_stage_id: opts.deliveredStage ?? null,
        raw_json: '{}',
        verify_scheme: null,
        verify_valid: null,
        b24_lead_id: b24Id,
        received_at: NOW - DAY,
        sent_at: NOW - DAY,
        done_at: NOW - DAY,
        updated_at: NOW - DAY,
      })
      .executeTakeFirstOrThrow()
    return { id: Number(res.insertId), b24Id }
  }
  return { db, repo: createQualityRepository(db), lead }
}
