/**
 * Lead quality's end-to-end world: the real app on a real port against both emulators, an ad
 * account connected the way an admin does it, a CRM event set at TikTok, and steps for a lead's
 * life: delivered from TikTok, moved in the emulated portal, its offline event collected.
 */
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import type { Emulator, EmulatorOptions, Portal } from '../emulator/index.js'
import {
  api,
  installedPortal,
  openTab,
  startEmulator,
  startTikTok,
  tempDbPath,
  testConfig,
  tiktokConfig,
  waitFor,
  type Teardown,
} from '../helpers.js'
import type { TikTokEmulator } from '../tiktok-emulator/index.js'
import { b24Leads, connect, FIELDS, type World } from '../tiktok-business/flow.js'

export interface QualityWorld extends World {
  dbPath: string
  eventSetId: string
  /** stop the app as a deploy or a crash would leave it: whatever is pending stays in the database */
  stop(): Promise<void>
  /** a second app on the same database (the first one stopped before) */
  restart(): Promise<void>
}

async function startQualityApp(t: Teardown, emu: Emulator, tt: TikTokEmulator, dbPath: string) {
  const config = testConfig(emu, { ...tiktokConfig(tt), DATABASE_PATH: dbPath })
  const database = openDatabase(config.DATABASE_PATH)
  await migrateToLatest(database.db)
  const app: FastifyInstance = await buildApp({
    config,
    database,
    logger: false,
    delivery: { reconcileAfterMs: 300, backoff: { baseMs: 50, maxMs: 400 } },
    tiktok: { taskPollMs: 50, schedule: false },
    // The test collects offline events itself (runOnce), so each move is read when it says.
    offlineEvents: { schedule: false },
    quality: { backoff: { baseMs: 50, maxMs: 200 } },
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  let closed = false
  t.teardown(() => (closed ? undefined : app.close()))
  return {
    app,
    url,
    database,
    config,
    close: async () => {
      closed = true
      await app.close()
    },
  }
}

export async function qualityWorld(
  t: Teardown,
  emuOpts: EmulatorOptions = {},
  portalOpts?: Parameters<Emulator['createPortal']>[0],
): Promise<QualityWorld> {
  const emu = await startEmulator(t, emuOpts)
  const tt = await startTikTok(t)
  const dbPath = tempDbPath()
  let started = await startQualityApp(t, emu, tt, dbPath)
  tt.addRedirectUri(`${started.url}/tiktok/oauth/callback`)
  const portal = await installedPortal(emu, started.url, portalOpts)
  const page = await openTab(started.url, portal)
  const adv = tt.addAdvertiser({ name: 'Acme Ads' })
  const adv2 = tt.addAdvertiser({ name: 'Second Account' })
  const form = tt.addForm(adv.id, { title: 'Spring promo', fields: FIELDS })
  const form2 = tt.addForm(adv.id, { title: 'Autumn promo', fields: FIELDS })
  const { eventSetId } = tt.addCrmEventSet(adv.id, { name: 'Bitrix24 CRM' })
  const w: QualityWorld = {
    emu,
    tt,
    started,
    portal,
    tab: api(started.url, page),
    adv,
    adv2,
    form,
    form2,
    dbPath,
    eventSetId,
    stop: () => started.close(),
    async restart() {
      started = await startQualityApp(t, emu, tt, dbPath)
      w.started = started
      w.tab = api(started.url, await openTab(started.url, portal))
    },
  }
  await connect(w)
  return w
}

/** A person fills in the TikTok form; resolves when the lead is in the emulated portal. */
export async function deliveredLead(
  w: QualityWorld,
  answers: Record<string, string> = {
    name: 'Nguyen Van An',
    email: ' An@Example.com ',
    phone_number: '+84 91 234 5678',
  },
): Promise<{ leadId: string; b24Id: number; rowId: number }> {
  const { leadId } = w.tt.submitLead(w.form.pageId, answers)
  const row = await waitFor('the lead delivered', async () => {
    const r = await w.started.app.leads.findByTikTokId(w.portal.memberId, leadId)
    return r?.status === 'delivered' && r.b24_lead_id ? r : null
  })
  const b24Id = row.b24_lead_id as number
  // In Bitrix24 (a lead, or in simple CRM mode a deal) with our origin.
  const there =
    row.b24_entity === 'deal' ? w.portal.deals.get(b24Id) : b24Leads(w.portal).find((l) => l.ORIGIN_ID === leadId)
  if (!there) throw new Error(`lead ${leadId} is not in the emulated portal`)
  return { leadId, b24Id, rowId: row.id }
}

/** A person moves the lead in Bitrix24; the app collects the offline event (as its timer would). */
export async function moveAndCollect(w: QualityWorld, portal: Portal, b24Id: number, stage: string): Promise<void> {
  w.emu.moveLead(portal, b24Id, stage, { userId: 2 })
  await w.started.app.offlineEvents.runOnce()
}

export function tracked(w: QualityWorld) {
  const { events, duplicates } = w.tt.trackedEvents(w.eventSetId)
  return { events, duplicates, names: events.map((e) => e.event) }
}

/** The delivery log row of a lead, as the tab reads it. */
export async function logRow(w: QualityWorld, rowId: number) {
  const res = await w.tab.get('leads?limit=50')
  const page = (await res.json()) as {
    leads: Array<{
      id: number
      tiktokEvents?: Array<{ event: string; status: string; at: string; error: string | null }>
    }>
  }
  return page.leads.find((l) => l.id === rowId)
}
