/**
 * The lead quality settings API (GET/POST /api/settings/quality), the app against both emulators:
 * the ad account's CRM event sets from TikTok's crm/list, the portal's stages from crm.status.list
 * with the default map; a save refuses stage ids the portal lacks, an event set that is not the
 * ad account's, an empty event name, a change by someone who is not a portal administrator, and
 * another portal's ad account; a saved custom map is what the stage changes send. In simple CRM
 * mode the map is over deal stages and a moved deal sends its event.
 */
import t from 'tap'
import { api, openTab, waitFor } from '../helpers.js'
import { deliveredLead, moveAndCollect, qualityWorld, tracked } from './world.js'

type Stages = Array<{ id: string; event: string | null; defaultEvent: string | null; semantic: string }>

t.test('GET shows the event sets and the default map; POST refuses what does not exist', async (t) => {
  const w = await qualityWorld(t)
  const res = await w.tab.get(`quality?advertiserId=${w.adv.id}`)
  t.equal(res.status, 200)
  const view = await res.json()
  t.match(view, {
    advertiserId: w.adv.id,
    entity: 'lead',
    eventSets: [{ eventSetId: w.eventSetId, name: 'Bitrix24 CRM' }],
    eventSetsError: null,
    chosen: null,
    saved: false,
  })
  t.same(
    (view.stages as Stages).map((s) => [s.id, s.semantic, s.event]),
    [
      ['NEW', 'P', null],
      ['IN_PROCESS', 'P', 'Contacted'],
      ['PROCESSED', 'P', 'Qualified'],
      ['CONVERTED', 'S', 'Converted'],
      ['JUNK', 'F', 'Unqualified'],
    ],
  )
  t.ok(view.standardEvents.includes('Qualified'))

  const post = (body: unknown, tab = w.tab) => tab.post('quality', body)
  const unknownStage = await post({
    advertiserId: w.adv.id,
    eventSetId: w.eventSetId,
    stageMap: { LOST_IN_SPACE: 'Qualified' },
  })
  t.equal(unknownStage.status, 400)
  const body = await unknownStage.json()
  t.equal(body.error, 'APP_ERR_QUALITY_UNKNOWN_STAGE')
  t.match(body.message, /LOST_IN_SPACE/, 'the answer names the stage')

  const unknownSet = await post({ advertiserId: w.adv.id, eventSetId: '7299999999999999999', stageMap: {} })
  t.equal(unknownSet.status, 400)
  t.equal((await unknownSet.json()).error, 'APP_ERR_QUALITY_UNKNOWN_EVENT_SET')

  const foreignSet = w.tt.addCrmEventSet(w.adv2.id, { name: 'Not yours' }).eventSetId
  t.equal(
    (await post({ advertiserId: w.adv.id, eventSetId: foreignSet, stageMap: {} })).status,
    400,
    "another ad account's set",
  )

  const emptyName = await post({ advertiserId: w.adv.id, eventSetId: w.eventSetId, stageMap: { PROCESSED: ' ' } })
  t.equal(emptyName.status, 400, 'an empty event name')

  t.equal(
    (await post({ advertiserId: w.adv2.id, eventSetId: w.eventSetId, stageMap: {} })).status,
    404,
    'an ad account not connected here',
  )

  const reader = api(w.started.url, await openTab(w.started.url, w.portal, 2))
  t.equal((await reader.get(`quality?advertiserId=${w.adv.id}`)).status, 200, 'a manager may look')
  const denied = await post({ advertiserId: w.adv.id, eventSetId: w.eventSetId, stageMap: {} }, reader)
  t.equal(denied.status, 403)
  t.equal((await denied.json()).error, 'APP_ERR_FORBIDDEN')

  const after = await (await w.tab.get(`quality?advertiserId=${w.adv.id}`)).json()
  t.match(after, { chosen: null, saved: false }, 'no refused change was saved')
  const conn = await w.started.app.tiktok.repo.findConnection(w.adv.id)
  t.equal(conn?.crm_event_set_id, null)
})

t.test('a saved custom map is what the stage changes send', async (t) => {
  const w = await qualityWorld(t)
  const res = await w.tab.post('quality', {
    advertiserId: w.adv.id,
    eventSetId: w.eventSetId,
    stageMap: { PROCESSED: 'Hot lead', JUNK: null },
  })
  t.equal(res.status, 200)
  const view = await res.json()
  t.match(view, { saved: true, chosen: { eventSetId: w.eventSetId } })
  t.same(
    (view.stages as Stages).map((s) => [s.id, s.event, s.defaultEvent]),
    [
      ['NEW', null, null],
      ['IN_PROCESS', 'Contacted', 'Contacted'],
      ['PROCESSED', 'Hot lead', 'Qualified'],
      ['CONVERTED', 'Converted', 'Converted'],
      ['JUNK', null, 'Unqualified'],
    ],
    'the saved choices over the defaults',
  )

  const a = await deliveredLead(w)
  await moveAndCollect(w, w.portal, a.b24Id, 'PROCESSED')
  await waitFor('Hot lead', () => tracked(w).events.length === 1)
  const b = await deliveredLead(w, { name: 'Tran Thi B', email: 'b@example.com' })
  await moveAndCollect(w, w.portal, b.b24Id, 'JUNK')
  await w.started.app.quality.runOnce()
  t.same(tracked(w).names, ['Hot lead'], 'a stage mapped to nothing sends nothing')
  t.equal(tracked(w).events[0]?.eventId, `${a.leadId}-Hot lead`)

  // Choosing no set stops the sending.
  const off = await w.tab.post('quality', { advertiserId: w.adv.id, eventSetId: null, stageMap: {} })
  t.match(await off.json(), { chosen: null, saved: true })
  await moveAndCollect(w, w.portal, a.b24Id, 'CONVERTED')
  await w.started.app.quality.runOnce()
  t.same(tracked(w).names, ['Hot lead'], 'no event set: nothing queued')
})

t.test('simple CRM mode: deal stages, a moved deal sends its event', async (t) => {
  const w = await qualityWorld(t, {}, { crmMode: 2 })
  const view = await (await w.tab.get(`quality?advertiserId=${w.adv.id}`)).json()
  t.equal(view.entity, 'deal')
  const map = Object.fromEntries((view.stages as Stages).map((s) => [s.id, s.event]))
  t.match(map, {
    NEW: null,
    PREPARATION: 'Contacted',
    PREPAYMENT_INVOICE: 'Qualified',
    EXECUTING: 'Qualified',
    WON: 'Converted',
    LOSE: 'Unqualified',
    APOLOGY: 'Unqualified',
  })
  t.equal((await w.tab.post('quality', { advertiserId: w.adv.id, eventSetId: w.eventSetId, stageMap: {} })).status, 200)

  const { leadId, rowId } = await deliveredLead(w)
  const row = await w.started.app.leads.find(w.portal.memberId, rowId)
  t.equal(row?.b24_entity, 'deal')
  w.emu.moveDeal(w.portal, row!.b24_lead_id!, 'WON', { userId: 2 })
  await w.started.app.offlineEvents.runOnce()
  await waitFor('Converted', () => tracked(w).events.length === 1)
  t.match(tracked(w).events[0], { event: 'Converted', eventId: `${leadId}-Converted`, leadId })
})
