/**
 * Lead quality back to TikTok, end to end against both emulators over HTTP: an admin picks the
 * ad account's CRM event set, a TikTok lead is delivered, a person moves it through the stages in
 * the emulated portal, and TikTok's Events API receives exactly the mapped events, once each,
 * with the lead id, the change's time and the hashed e-mail and phone:
 * - the default map (NEW nothing, IN_PROCESS Contacted, PROCESSED Qualified, CONVERTED Converted);
 * - moving back and forth sends nothing new (the outbox's key is TikTok's dedup triple);
 * - a TikTok outage, then the app stopped with the events pending and a new app on the same
 *   database, whose first send lands but loses its answer ('reset-after-processing'): TikTok
 *   counts every event once;
 * - TikTok takes a send whose answer is lost, and the app stops before it retries: the next app
 *   resends, TikTok counts it once;
 * - a change older than TikTok's 28 days is stored as too_old and never sent;
 * - the delivery log shows each event with its state;
 * - a lead delivered at a mapped in-progress stage: an edit there is no contact and sends nothing,
 *   nor does a move back to it; a TikTok lead that updated an existing lead (dedup) sends nothing.
 * @see reference/tiktok.md §8, bitrix24.md §6–§7
 */
import { createHash } from 'node:crypto'
import t from 'tap'
import { waitFor } from '../helpers.js'
import { deliveredLead, logRow, moveAndCollect, qualityWorld, tracked, type QualityWorld } from './world.js'

const sha = (v: string) => createHash('sha256').update(v).digest('hex')

async function chooseEventSet(w: QualityWorld, stageMap: Record<string, string | null> = {}) {
  const res = await w.tab.post('quality', { advertiserId: w.adv.id, eventSetId: w.eventSetId, stageMap })
  if (res.status !== 200) throw new Error(`quality: ${res.status} ${await res.text()}`)
  return res.json()
}

const outboxOf = (w: QualityWorld) =>
  w.started.app.db.selectFrom('tiktok_event_outbox').selectAll().orderBy('id').execute()

t.test('a lead moved through the stages sends exactly the mapped events, once each', async (t) => {
  const w = await qualityWorld(t)
  const view = await chooseEventSet(w)
  t.match(view.chosen, { eventSetId: w.eventSetId, name: 'Bitrix24 CRM' })
  t.same(
    view.stages.map((s: { id: string; event: string | null }) => [s.id, s.event]),
    [
      ['NEW', null],
      ['IN_PROCESS', 'Contacted'],
      ['PROCESSED', 'Qualified'],
      ['CONVERTED', 'Converted'],
      ['JUNK', 'Unqualified'],
    ],
    'the default map from the stage semantics',
  )
  const { leadId, b24Id, rowId } = await deliveredLead(w)
  const before = await w.started.app.leads.find(w.portal.memberId, rowId)
  t.equal(before?.first_contact_at, null, 'no contact yet')

  await moveAndCollect(w, w.portal, b24Id, 'IN_PROCESS')
  await waitFor('Contacted at TikTok', () => tracked(w).events.length === 1)
  const row = await w.started.app.leads.find(w.portal.memberId, rowId)
  t.ok(row?.first_contact_at, 'the first stage change is the first contact')
  const movedAt = Date.parse(String(w.portal.leads.get(b24Id)?.MOVED_TIME))
  t.equal(row?.first_contact_at, movedAt, "at the move's time (MOVED_TIME)")

  await moveAndCollect(w, w.portal, b24Id, 'PROCESSED')
  await waitFor('Qualified at TikTok', () => tracked(w).events.length === 2)
  await moveAndCollect(w, w.portal, b24Id, 'IN_PROCESS')
  await moveAndCollect(w, w.portal, b24Id, 'PROCESSED')
  await moveAndCollect(w, w.portal, b24Id, 'CONVERTED')
  await waitFor('Converted at TikTok', () => tracked(w).events.length === 3)
  await w.started.app.quality.runOnce()

  const { events, duplicates, names } = tracked(w)
  t.same(names, ['Contacted', 'Qualified', 'Converted'], 'each mapped stage once, in order')
  t.same(duplicates, [], 'moving back and forth sent nothing twice')
  const first = events[0]!
  t.match(first, {
    eventId: `${leadId}-Contacted`,
    leadId,
    leadEventSource: 'Bitrix24',
    eventTime: Math.floor(movedAt / 1000),
    matched: true,
  })
  t.same(first.email, [sha('an@example.com')], 'the e-mail trimmed, lower case, hashed')
  t.same(first.phone, [sha('+84912345678')], 'the phone in E.164, hashed')
  const after = await w.started.app.leads.find(w.portal.memberId, rowId)
  t.equal(after?.first_contact_at, movedAt, 'later moves keep the first contact')
  t.equal(after?.b24_stage_id, 'CONVERTED')

  const log = await logRow(w, rowId)
  t.same(
    log?.tiktokEvents?.map((e) => [e.event, e.status, e.error]),
    [
      ['Contacted', 'sent', null],
      ['Qualified', 'sent', null],
      ['Converted', 'sent', null],
    ],
    'the delivery log shows what went to TikTok',
  )
  t.ok(
    log?.tiktokEvents?.every((e) => !Number.isNaN(Date.parse(e.at))),
    'with when',
  )
})

t.test('no event set chosen: nothing is queued, the stage and first contact are still stored', async (t) => {
  const w = await qualityWorld(t)
  const { b24Id, rowId } = await deliveredLead(w)
  await moveAndCollect(w, w.portal, b24Id, 'IN_PROCESS')
  const row = await w.started.app.leads.find(w.portal.memberId, rowId)
  t.equal(row?.b24_stage_id, 'IN_PROCESS')
  t.ok(row?.first_contact_at)
  t.same(await outboxOf(w), [])
  t.same(tracked(w).events, [])
})

t.test('a TikTok outage, an app restart mid-outbox and a lost answer: still exactly once', async (t) => {
  const w = await qualityWorld(t)
  await chooseEventSet(w)
  const { leadId, b24Id, rowId } = await deliveredLead(w)

  w.tt.faults.outage(503, { endpoint: 'event/track' })
  await moveAndCollect(w, w.portal, b24Id, 'IN_PROCESS')
  await moveAndCollect(w, w.portal, b24Id, 'PROCESSED')
  // The first collection queued Contacted, the second Qualified: both pending through the outage.
  await waitFor('tried through the outage', async () => {
    const rows = await outboxOf(w)
    return rows.length === 2 && rows.every((r) => r.status === 'pending' && r.attempts >= 2)
  })
  const pending = await logRow(w, rowId)
  t.ok(
    pending?.tiktokEvents?.every((e) => e.status === 'pending' && /HTTP 503/.test(e.error ?? '')),
    'the log says why they wait',
  )
  t.same(tracked(w).events, [], 'nothing reached TikTok')

  await w.stop()
  w.tt.faults.clear()
  // The new app's first send lands at TikTok, but the answer is lost: the outcome is unknown.
  w.tt.faults.failNext(1, 'reset-after-processing', { endpoint: 'event/track' })
  await w.restart()
  await waitFor('sent after the restart', async () => (await outboxOf(w)).every((r) => r.status === 'sent'))

  const { names, duplicates } = tracked(w)
  t.same(names.sort(), ['Contacted', 'Qualified'], 'each event counted once')
  // Whatever the request whose answer was lost carried (both events, or one when their retries
  // fell due apart) came again and was TikTok's duplicate, not a second event.
  const lost = w.tt.calls.find((c) => c.fault === 'reset-after-processing')
  const lostIds = ((lost?.body as { data?: Array<{ event_id: string }> } | undefined)?.data ?? []).map(
    (e) => e.event_id,
  )
  t.ok(lostIds.length >= 1, 'a send landed and lost its answer')
  t.ok(
    lostIds.every((id) => [`${leadId}-Contacted`, `${leadId}-Qualified`].includes(id)),
    'it carried our events',
  )
  t.same(
    duplicates.map((d) => d.eventId).sort(),
    [...lostIds].sort(),
    'the resend after the lost answer was a TikTok duplicate, not a second event',
  )

  await moveAndCollect(w, w.portal, b24Id, 'CONVERTED')
  await waitFor('Converted', () => tracked(w).events.length === 3)
  t.same(tracked(w).names.sort(), ['Contacted', 'Converted', 'Qualified'])
})

t.test('landed at TikTok, answer lost, app stopped before it knew: the next app resends, counted once', async (t) => {
  const w = await qualityWorld(t)
  await chooseEventSet(w)
  const { leadId, b24Id } = await deliveredLead(w)
  // TikTok takes the first send but its answer never arrives; every later try meets an outage.
  w.tt.faults.outage(503, { endpoint: 'event/track' })
  w.tt.faults.failNext(1, 'reset-after-processing', { endpoint: 'event/track' })
  await moveAndCollect(w, w.portal, b24Id, 'IN_PROCESS')
  await waitFor('landed at TikTok', () => tracked(w).events.length === 1)
  await waitFor('tried again', async () => ((await outboxOf(w))[0]?.attempts ?? 0) >= 2)
  t.match(await outboxOf(w), [{ status: 'pending', sent_at: null }], 'the app cannot know it landed')
  await w.stop()
  w.tt.faults.clear()
  await w.restart()
  await waitFor('sent by the new app', async () => (await outboxOf(w))[0]?.status === 'sent')
  t.same(tracked(w).names, ['Contacted'], 'one event at TikTok')
  t.same(
    tracked(w).duplicates.map((d) => d.eventId),
    [`${leadId}-Contacted`],
    "the new app's resend was TikTok's duplicate",
  )
})

t.test('a stage change older than 28 days is stored as too_old and never sent', async (t) => {
  let offset = 0
  const w = await qualityWorld(t, { now: () => Date.now() - offset })
  await chooseEventSet(w)
  const { b24Id, rowId } = await deliveredLead(w)
  // The move happened 29 days ago in Bitrix24's clock (MOVED_TIME), the app reads it now.
  offset = 29 * 86_400_000
  w.emu.moveLead(w.portal, b24Id, 'PROCESSED', { userId: 2 })
  offset = 0
  await w.started.app.offlineEvents.runOnce()
  await w.started.app.quality.runOnce()

  const rows = await outboxOf(w)
  t.match(rows, [{ event: 'Qualified', status: 'too_old', attempts: 0 }])
  t.same(tracked(w).events, [], 'TikTok got nothing')
  const log = await logRow(w, rowId)
  t.match(log?.tiktokEvents, [{ event: 'Qualified', status: 'too_old', error: /28 days/ }], 'and the log says so')
})

/*
 * Regression (review of issue 10): the mapping writes STATUS_ID IN_PROCESS (mapped to Contacted).
 * The lead's stored stage was null until the first read, and a first read away from NEW counted
 * as a person's move: a manager fixing the lead's title gave it a first contact and sent TikTok
 * "Contacted" for a lead nobody had called. The stage it was delivered at is now known.
 */
t.test('a lead delivered at a mapped in-progress stage: an edit is no contact and sends nothing', async (t) => {
  const w = await qualityWorld(t)
  await chooseEventSet(w)
  const conf = (await w.started.app.settings.find(w.portal.memberId))!
  const mapping = JSON.parse(conf.mapping_json) as { rules: unknown[]; constants: Record<string, unknown> }
  await w.started.app.settings.update(w.portal.memberId, {
    mapping_json: JSON.stringify({ ...mapping, constants: { ...mapping.constants, STATUS_ID: 'IN_PROCESS' } }),
  })
  const { b24Id, rowId } = await deliveredLead(w)
  t.equal(w.portal.leads.get(b24Id)?.STATUS_ID, 'IN_PROCESS', 'written at the mapped stage')
  t.equal((await w.started.app.leads.find(w.portal.memberId, rowId))?.b24_delivered_stage_id, 'IN_PROCESS')

  w.emu.editLead(w.portal, b24Id, { TITLE: 'An, wants a callback' }, { userId: 2 })
  await w.started.app.offlineEvents.runOnce()
  await w.started.app.quality.runOnce()
  const edited = await w.started.app.leads.find(w.portal.memberId, rowId)
  t.equal(edited?.b24_stage_id, 'IN_PROCESS', 'the stage is read')
  t.equal(edited?.first_contact_at, null, 'but nobody moved it')
  t.same(await outboxOf(w), [], 'nothing for TikTok')

  await moveAndCollect(w, w.portal, b24Id, 'PROCESSED')
  await waitFor('Qualified at TikTok', () => tracked(w).events.length === 1)
  const movedAt = Date.parse(String(w.portal.leads.get(b24Id)?.MOVED_TIME))
  t.equal((await w.started.app.leads.find(w.portal.memberId, rowId))?.first_contact_at, movedAt, 'a move on is')
  await moveAndCollect(w, w.portal, b24Id, 'IN_PROCESS')
  await w.started.app.quality.runOnce()
  t.same(tracked(w).names, ['Qualified'], 'back at the stage it was delivered at: still no Contacted')
})

/*
 * Regression: under the "update" dedup policy a TikTok lead is written into a lead the portal
 * already had (a walk-in with the same phone), and stored as a duplicate pointing at it. That
 * lead's moves are its own history: they gave the TikTok lead a first contact and sent TikTok
 * events for a lead the app did not make.
 */
t.test('a TikTok lead that updated an existing Bitrix24 lead: its moves send nothing', async (t) => {
  const w = await qualityWorld(t)
  await chooseEventSet(w)
  await w.started.app.settings.update(w.portal.memberId, { dedup_policy: 'update' })
  const res = await fetch(`${w.portal.clientEndpoint}crm.lead.add.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      fields: { TITLE: 'walk-in', PHONE: [{ VALUE: '+84912345678', VALUE_TYPE: 'WORK' }] },
      auth: w.portal.issueToken(1).access_token,
    }),
  })
  const existing = ((await res.json()) as { result: number }).result
  const { leadId } = w.tt.submitLead(w.form.pageId, { name: 'Nguyen Van An', phone_number: '+84 91 234 5678' })
  const row = await waitFor('the lead written into the existing one', async () => {
    const r = await w.started.app.leads.findByTikTokId(w.portal.memberId, leadId)
    return r?.status === 'duplicate' ? r : null
  })
  t.equal(row.b24_lead_id, existing)

  await moveAndCollect(w, w.portal, existing, 'IN_PROCESS')
  await w.started.app.quality.runOnce()
  const after = await w.started.app.leads.find(w.portal.memberId, row.id)
  t.equal(after?.b24_stage_id, 'IN_PROCESS', 'the stage is shown')
  t.equal(after?.first_contact_at, null, 'no first contact: the lead was somebody’s already')
  t.same(await outboxOf(w), [], 'and no event')
  t.same(tracked(w).events, [])
})
