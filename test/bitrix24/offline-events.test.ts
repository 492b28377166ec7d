/**
 * Lossless lead stages through offline events, the app against the emulator over real HTTP:
 * - install binds ONCRMLEADUPDATE / ONCRMDEALUPDATE offline with our auth_connector;
 * - a person moves a delivered lead while the app is down: the next app on the same database
 *   reads the queue at start and stores (and shows) the stage;
 * - the app's own writes (a dedup update) carry the key and do not come back as events;
 * - a failure between event.offline.get and event.offline.clear loses nothing, within one
 *   process (the reserved batch is taken again by its process_id) and across a restart (the new
 *   process finds the reservation through event.offline.list).
 * @see https://apidocs.bitrix24.com/api-reference/events/offline-events.html
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { manifest } from '../../manifest/app.js'
import { WEB_DIST } from '../../src/paths.js'
import {
  api,
  installedPortal,
  openTab,
  startApp,
  startEmulator,
  tempDbPath,
  waitFor,
  type Teardown,
} from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import type { Emulator, Portal } from '../emulator/index.js'
import type { StartedApp } from '../helpers.js'

async function deliverOne(
  s: StartedApp,
  portal: Portal,
  lead = sampleLead(),
): Promise<{ tiktokId: string; b24Id: number }> {
  const conf = (await s.app.settings.find(portal.memberId))!
  const r = await postWebhook(s.url, conf.webhook_key, notificationBody([lead]), { secret: conf.signing_secret })
  if (r.status !== 200) throw new Error(`webhook answered ${r.status}`)
  const row = await waitFor('delivered', async () => {
    const found = await s.app.leads.findByTikTokId(portal.memberId, lead.id)
    return found && (found.status === 'delivered' || found.status === 'duplicate') && found.b24_lead_id ? found : null
  })
  return { tiktokId: lead.id, b24Id: row.b24_lead_id! }
}

async function stageOf(s: StartedApp, portal: Portal, tiktokId: string) {
  const row = await s.app.leads.findByTikTokId(portal.memberId, tiktokId)
  return { id: row?.b24_stage_id ?? null, semantic: row?.b24_stage_semantic ?? null }
}

/** A lead made by a person in the CRM (not ours). */
async function personsLead(portal: Portal): Promise<number> {
  const res = await fetch(`${portal.clientEndpoint}crm.lead.add.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fields: { TITLE: 'walk-in' }, auth: portal.issueToken(1).access_token }),
  })
  return ((await res.json()) as { result: number }).result
}

const lookups = (emu: Emulator, portal: Portal) =>
  emu.calls.filter((c) => c.memberId === portal.memberId && c.method === 'crm.lead.list' && !c.inBatch)

async function twoApps(t: Teardown) {
  const emu = await startEmulator(t)
  const dbPath = tempDbPath()
  const first = await startApp(t, { emu, config: { DATABASE_PATH: dbPath } })
  const portal = await installedPortal(emu, first.url)
  return { emu, dbPath, first, portal, restart: () => startApp(t, { emu, config: { DATABASE_PATH: dbPath } }) }
}

const offlineOf = (portal: Portal) => portal.events.filter((e) => e.event_type === 'offline')
/** The manifest's offline events of a CRM mode (lead updates and activities in both, deal updates in simple mode). */
const offlineIn = (mode: 1 | 2) =>
  manifest.offlineEvents
    .filter((e) => (e.modes as readonly number[]).includes(mode))
    .map((e) => e.event)
    .sort()

t.test('install binds lead updates offline with our source key (and deal updates in simple mode)', async (t) => {
  const emu = await startEmulator(t)
  const { url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  t.same(
    offlineOf(portal)
      .map((e) => e.event)
      .sort(),
    ['ONCRMACTIVITYADD', 'ONCRMACTIVITYUPDATE', 'ONCRMLEADUPDATE'],
    'classic mode: lead updates and activities, no deal updates',
  )
  t.same(offlineIn(1), ['ONCRMACTIVITYADD', 'ONCRMACTIVITYUPDATE', 'ONCRMLEADUPDATE'], 'as the manifest says')
  t.ok(
    offlineOf(portal).every((e) => e.auth_connector === manifest.offlineAuthConnector),
    'with auth_connector',
  )
  const again = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  t.equal(again.status, 200)
  t.equal(offlineOf(portal).length, offlineIn(1).length, 'a re-install keeps one binding each')
  await emu.updateApp(portal, { version: '2' })
  await waitFor('rebound after ONAPPUPDATE', () => offlineOf(portal).length === offlineIn(1).length)

  // An admin switches the portal to simple mode; the tab's open notices it and binds deal updates.
  portal.crmMode = 2
  await openTab(url, portal)
  await waitFor('deal updates bound after the switch', () =>
    offlineOf(portal).some((e) => e.event === 'ONCRMDEALUPDATE'),
  )
  t.equal(offlineOf(portal).length, offlineIn(2).length)

  const simple = await installedPortal(emu, url, { crmMode: 2 })
  t.same(
    offlineOf(simple)
      .map((e) => e.event)
      .sort(),
    offlineIn(2),
    'simple mode: deal updates too',
  )
  t.ok(offlineOf(simple).every((e) => e.auth_connector === manifest.offlineAuthConnector))
})

t.test(
  'a lead moved while the app is down: the next start stores its stage and the delivery log shows it',
  async (t) => {
    const { emu, first, portal, restart } = await twoApps(t)
    const { tiktokId, b24Id } = await deliverOne(first, portal)
    t.same(await stageOf(first, portal, tiktokId), { id: null, semantic: null }, 'no stage read yet')
    const walkIn = await personsLead(portal)
    await first.app.close()

    emu.moveLead(portal, b24Id, 'IN_PROCESS', { userId: 2 })
    emu.moveLead(portal, b24Id, 'JUNK', { userId: 2 })
    emu.moveLead(portal, walkIn, 'PROCESSED')
    t.equal(emu.offlineQueue(portal).length, 2, 'two leads changed: one record each')

    const second = await restart()
    await waitFor('stage stored at start', async () => (await stageOf(second, portal, tiktokId)).id === 'JUNK')
    t.same(await stageOf(second, portal, tiktokId), { id: 'JUNK', semantic: 'F' })
    await waitFor('queue cleared', () => emu.offlineQueue(portal).length === 0)
    const read = lookups(emu, portal).at(-1)
    t.match(read?.params, { filter: { '@ID': [String(b24Id)] } }, 'only our lead is looked up, not the walk-in')

    const tab = await openTab(second.url, portal)
    const res = await api(second.url, tab).get('leads?limit=10')
    t.equal(res.status, 200)
    const body = (await res.json()) as { leads: Array<{ tiktokLeadId: string; b24Stage: unknown }> }
    t.match(body.leads.find((l) => l.tiktokLeadId === tiktokId)?.b24Stage, { id: 'JUNK', semantic: 'F', at: String })
    // The log is its own chunk of the built tab (src/web/App.vue loads screens on demand).
    const built = JSON.parse(readFileSync(join(WEB_DIST, '.vite', 'manifest.json'), 'utf8')) as Record<
      string,
      { file: string }
    >
    const chunk = built['screens/LogScreen.vue']?.file
    const script = await (await fetch(`${second.url}/static/web/${chunk}`)).text()
    t.match(script, /stage_semantic_/, "the log screen's script puts the semantic into words")
    t.equal(tab.boot?.strings.stage_semantic_F, 'lost', 'and the words are on the page: lost')
  },
)

t.test("the app's own writes do not come back as offline events", async (t) => {
  const emu = await startEmulator(t)
  const s = await startApp(t, { emu })
  const portal = await installedPortal(emu, s.url)
  await s.app.settings.update(portal.memberId, { dedup_policy: 'update', default_country: 'VN' })
  const first = await deliverOne(s, portal, sampleLead({ phone: '0912345678', email: 'a@example.com' }))
  const dup = await deliverOne(s, portal, sampleLead({ phone: '0912345678', email: 'b@example.com' }))
  t.equal(dup.b24Id, first.b24Id, 'the second lead updated the first')
  const update = emu.calls.find((c) => c.memberId === portal.memberId && c.method === 'crm.lead.update' && c.inBatch)
  t.match(update?.params, { auth_connector: manifest.offlineAuthConnector }, 'the update carried our key')
  t.same(emu.offlineQueue(portal), [], 'so nothing was queued for it')

  emu.moveLead(portal, first.b24Id, 'CONVERTED')
  t.equal(emu.offlineQueue(portal).length, 1, "a person's move is queued")
  const out = await s.app.offlineEvents.runOnce()
  t.match(out[portal.memberId], { events: 1, stages: 1 })
  t.same(await stageOf(s, portal, first.tiktokId), { id: 'CONVERTED', semantic: 'S' })
  t.same(
    await stageOf(s, portal, dup.tiktokId),
    { id: 'CONVERTED', semantic: 'S' },
    'the duplicate points at the same lead',
  )
})

t.test('a failure between get and clear loses nothing: the reserved batch is taken again', async (t) => {
  const emu = await startEmulator(t)
  const s = await startApp(t, { emu })
  const portal = await installedPortal(emu, s.url)
  const { tiktokId, b24Id } = await deliverOne(s, portal)
  emu.moveLead(portal, b24Id, 'PROCESSED')

  emu.faults.failNext(3, 500, { method: 'crm.lead.list', memberId: portal.memberId })
  await s.app.offlineEvents.runOnce()
  t.same(await stageOf(s, portal, tiktokId), { id: null, semantic: null }, 'the read failed: nothing stored')
  t.match(
    emu.offlineQueue(portal),
    [{ entityId: b24Id, processId: /^[0-9a-f]{32}$/ }],
    'the batch stays reserved, not cleared',
  )
  emu.faults.clear()

  emu.moveLead(portal, b24Id, 'JUNK')
  await s.app.offlineEvents.runOnce()
  t.same(await stageOf(s, portal, tiktokId), { id: 'JUNK', semantic: 'F' }, 'the stage now')
  t.same(emu.offlineQueue(portal), [], 'reserved and new records cleared')

  emu.moveLead(portal, b24Id, 'IN_PROCESS')
  emu.faults.failNext(3, 500, { method: 'event.offline.clear', memberId: portal.memberId })
  await s.app.offlineEvents.runOnce()
  t.same(await stageOf(s, portal, tiktokId), { id: 'IN_PROCESS', semantic: 'P' }, 'stored before the clear failed')
  t.equal(emu.offlineQueue(portal).length, 1, 'the clear failed: still reserved')
  emu.faults.clear()
  await s.app.offlineEvents.runOnce()
  t.same(emu.offlineQueue(portal), [], 'cleared on the next pass')
})

t.test('killed between get and clear: the next process finds the reservation and loses nothing', async (t) => {
  const { emu, first, portal, restart } = await twoApps(t)
  const { tiktokId, b24Id } = await deliverOne(first, portal)
  emu.moveLead(portal, b24Id, 'CONVERTED')
  emu.faults.failNext(3, 500, { method: 'crm.lead.list', memberId: portal.memberId })
  await first.app.offlineEvents.runOnce()
  await first.app.close()
  emu.faults.clear()
  t.match(
    emu.offlineQueue(portal),
    [{ entityId: b24Id, processId: /^[0-9a-f]{32}$/ }],
    'reserved by the process that died',
  )

  const second = await restart()
  await waitFor(
    'stage stored by the new process',
    async () => (await stageOf(second, portal, tiktokId)).id === 'CONVERTED',
  )
  t.same(await stageOf(second, portal, tiktokId), { id: 'CONVERTED', semantic: 'S' })
  await waitFor('queue cleared', () => emu.offlineQueue(portal).length === 0)
  t.ok(
    emu.calls.some((c) => c.memberId === portal.memberId && c.method === 'event.offline.list'),
    'found through event.offline.list',
  )
})

t.test("simple CRM mode: a deal moved to won is stored as the delivered lead's stage", async (t) => {
  const emu = await startEmulator(t)
  const s = await startApp(t, { emu })
  const portal = await installedPortal(emu, s.url, { crmMode: 2 })
  const { tiktokId, b24Id } = await deliverOne(s, portal)
  const row = await s.app.leads.findByTikTokId(portal.memberId, tiktokId)
  t.equal(row?.b24_entity, 'deal', 'delivered as a deal')
  t.ok(portal.deals.has(b24Id))

  emu.moveDeal(portal, b24Id, 'WON', { userId: 2 })
  const out = await s.app.offlineEvents.runOnce()
  t.match(out[portal.memberId], { events: 1, stages: 1 })
  t.same(await stageOf(s, portal, tiktokId), { id: 'WON', semantic: 'S' })
  t.ok(
    emu.calls.some((c) => c.memberId === portal.memberId && c.method === 'crm.deal.list'),
    'read with crm.deal.list',
  )
  t.same(emu.offlineQueue(portal), [])
})
