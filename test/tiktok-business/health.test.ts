/**
 * What keeps a TikTok connection alive: the daily check (a revoked token is shown and a reconnect
 * restores the flow; a subscription deleted at TikTok is re-created; new questions are named), the
 * backfill (leads missed while the app was down past TikTok's retry window arrive, each once), the
 * real test lead through TikTok's push, and a lead field made for a form's question.
 * @see https://business-api.tiktok.com/portal/docs (Lead Generation subscriptions, export, return codes)
 */
import t from 'tap'
import { freePort, metricsAuth, tempDbPath, waitFor } from '../helpers.js'
import { approve, b24Leads, connect, FIELDS, validSubs, view, world } from './flow.js'

t.test('a revoked token is shown in plain words and in /metrics; a reconnect restores the flow', async (t) => {
  const w = await world(t)
  await connect(w)
  w.tt.revokeAdvertiserAccess(w.adv.id)
  t.equal(validSubs(w.tt).length, 0, 'TikTok stops the subscription silently')
  const res = await w.tab.post('tiktok/check', { advertiserId: w.adv.id })
  t.equal(res.status, 200)
  const v = (await res.json()) as Awaited<ReturnType<typeof view>>
  t.equal(v.connections[0]!.status, 'token_invalid')
  t.match(v.connections[0]!.statusText, /no longer accepts/)
  const state = (await (await w.tab.get('state')).json()) as { problems: string[] }
  t.ok(
    state.problems.some((p) => /Connect TikTok/.test(p)),
    "the tab's problem list says what to do",
  )
  t.match(await (await fetch(`${w.started.url}/metrics`, metricsAuth)).text(), /state="token_invalid"\} 1/)

  // Reconnect: approve again and pick the same account.
  t.equal((await approve(w)).status, 200)
  const g = (await view(w)).grant!
  t.equal(g.advertisers.find((a) => a.advertiserId === w.adv.id)!.connectedHere, true)
  const again = (await (
    await w.tab.post('tiktok/grant', { grantId: g.id, advertiserIds: [w.adv.id], importDays: 0 })
  ).json()) as Awaited<ReturnType<typeof view>>
  t.equal(again.connections[0]!.status, 'active')
  t.equal(validSubs(w.tt).length, 1, 'subscribed again with the new token')
  const { leadId } = w.tt.submitLead(w.form.pageId, { name: 'Back Again', phone_number: '+84900000009' })
  await waitFor('the lead after the reconnect', () => b24Leads(w.portal).find((l) => l.ORIGIN_ID === leadId))
})

t.test('the daily check re-creates a subscription deleted at TikTok and names new unmapped questions', async (t) => {
  const w = await world(t, { config: { TIKTOK_CHECK_INTERVAL_S: 1 } })
  await connect(w)
  const [sub] = validSubs(w.tt)
  w.tt.deleteSubscription(sub!.subscriptionId)
  w.tt.setFormFields(w.form.pageId, [...FIELDS, { name: 'Best time to call?' }])
  await new Promise((r) => setTimeout(r, 1100))
  await w.started.app.tiktok.runDue()
  const subs = validSubs(w.tt)
  t.equal(subs.length, 1, 're-created')
  t.not(subs[0]!.subscriptionId, sub!.subscriptionId)
  const v = await view(w)
  t.equal(v.connections[0]!.status, 'active')
  t.match(v.connections[0]!.statusText, /re-created/)
  const form = v.connections[0]!.forms.find((f) => f.pageId === w.form.pageId)!
  t.same(form.newFields, ['Best time to call?'])
  t.ok(
    v.problems.some((p) => p.includes('Best time to call?')),
    'named in the problem lines',
  )
  const { leadId } = w.tt.submitLead(w.form.pageId, { name: 'After Check', phone_number: '+84900000010' })
  await waitFor('a lead through the new subscription', () => b24Leads(w.portal).find((l) => l.ORIGIN_ID === leadId))
})

t.test(
  "leads submitted while the app was down past TikTok's retry window arrive through the backfill, each once",
  async (t) => {
    const database = tempDbPath()
    const port = await freePort()
    const w = await world(t, { database, port, config: { TIKTOK_BACKFILL_INTERVAL_S: 1 } })
    await connect(w)
    const before = w.tt.submitLead(w.form.pageId, { name: 'Before Outage', phone_number: '+84900000011' })
    await waitFor('the lead before the outage', () => b24Leads(w.portal).find((l) => l.ORIGIN_ID === before.leadId))
    await w.started.app.close()

    const missed = [1, 2, 3].map(
      (i) => w.tt.submitLead(w.form.pageId, { name: `Missed ${i}`, phone_number: `+8490000002${i}` }).leadId,
    )
    await w.tt.settled()
    t.ok(
      w.tt.deliveries.some((d) => d.outcome === 'gave_up'),
      'TikTok gave up its retries',
    )
    t.equal(b24Leads(w.portal).length, 1)

    // Back up on the same database and address; the backfill is due (interval 1 s).
    const { startApp, tiktokConfig } = await import('../helpers.js')
    const back = await startApp(t, {
      emu: w.emu,
      port,
      config: { ...tiktokConfig(w.tt), DATABASE_PATH: database, TIKTOK_BACKFILL_INTERVAL_S: 1 },
      tiktok: { schedule: false },
    })
    await new Promise((r) => setTimeout(r, 1100))
    await back.app.tiktok.runDue()
    await waitFor('the missed leads in Bitrix24', () =>
      missed.every((id) => b24Leads(w.portal).some((l) => l.ORIGIN_ID === id)),
    )
    t.equal(b24Leads(w.portal).length, 4, 'the lead delivered before is not sent again')
    const ids = b24Leads(w.portal).map((l) => l.ORIGIN_ID)
    t.equal(new Set(ids).size, ids.length, 'each exactly once')
    t.same(ids.slice(1), missed, 'delivered in order of creation')
    const row = await back.app.leads.findByTikTokId(w.portal.memberId, missed[0]!)
    t.equal(row!.format, 'export')
    const tab2 = (await import('../helpers.js')).api(
      back.url,
      await (await import('../helpers.js')).openTab(back.url, w.portal),
    )
    const form = (await view({ tab: tab2 })).connections[0]!.forms.find((f) => f.pageId === w.form.pageId)!
    t.equal(form.lastBackfill!.added, 3)

    // A second pass finds nothing new.
    await new Promise((r) => setTimeout(r, 1100))
    await back.app.tiktok.runDue()
    t.equal(b24Leads(w.portal).length, 4)
  },
)

t.test('import on connect brings the last N days; an older lead stays out', async (t) => {
  const w = await world(t)
  const now = Math.floor(Date.now() / 1000)
  const recent = w.tt.submitLead(
    w.form.pageId,
    { name: 'Recent', phone_number: '+84900000031' },
    { createTime: now - 2 * 86_400 },
  )
  const old = w.tt.submitLead(
    w.form.pageId,
    { name: 'Old', phone_number: '+84900000032' },
    { createTime: now - 20 * 86_400 },
  )
  await connect(w, [w.adv.id], 7)
  await waitFor('the recent lead imported', () => b24Leads(w.portal).find((l) => l.ORIGIN_ID === recent.leadId))
  await waitFor('the backfill recorded', async () => (await view(w)).connections[0]!.forms.every((f) => f.lastBackfill))
  t.notOk(
    b24Leads(w.portal).find((l) => l.ORIGIN_ID === old.leadId),
    'older than the chosen window',
  )
})

t.test('a real TikTok test lead arrives through the push; a second one replaces the first', async (t) => {
  const w = await world(t)
  await connect(w)
  const res = await w.tab.post('tiktok/test-lead', { advertiserId: w.adv.id, pageId: w.form.pageId })
  t.equal(res.status, 200)
  const { leadId } = (await res.json()) as { leadId: string }
  await waitFor('the test lead in Bitrix24', () => b24Leads(w.portal).find((l) => l.ORIGIN_ID === leadId))
  const second = (await (
    await w.tab.post('tiktok/test-lead', { advertiserId: w.adv.id, pageId: w.form.pageId })
  ).json()) as { leadId: string }
  t.not(second.leadId, leadId)
  await waitFor('the second test lead', () => b24Leads(w.portal).find((l) => l.ORIGIN_ID === second.leadId))
  t.equal(
    (await view(w)).connections[0]!.forms.find((f) => f.pageId === w.form.pageId)!.testLead!.leadId,
    second.leadId,
  )
})

t.test('a lead field made for an unmapped question receives its answers', async (t) => {
  const w = await world(t)
  await connect(w)
  let res = await w.tab.post('tiktok/create-field', {
    advertiserId: w.adv.id,
    pageId: w.form.pageId,
    question: 'Which service?',
    type: 'enumeration',
    items: ['Installation', 'Repair'],
  })
  t.equal(res.status, 200)
  const { fieldName, mapping } = (await res.json()) as {
    fieldName: string
    mapping: { rules: Array<{ source: string; target: string }> }
  }
  t.match(fieldName, /^UF_CRM_TT[0-9A-F]{8}$/)
  t.ok(mapping.rules.some((r) => r.source === 'Which service?' && r.target === fieldName))
  const uf = w.portal.userFields.find((f) => f.FIELD_NAME === fieldName)
  t.ok(uf, 'the field exists in Bitrix24')
  t.equal(uf!.USER_TYPE_ID, 'enumeration')
  t.same(
    uf!.LIST.map((i) => i.VALUE),
    ['Installation', 'Repair'],
  )
  const v = await view(w)
  t.same(v.connections[0]!.forms.find((f) => f.pageId === w.form.pageId)!.unmappedCustom, [], 'no longer offered')

  const { leadId } = w.tt.submitLead(w.form.pageId, {
    name: 'Field Test',
    phone_number: '+84900000041',
    'Which service?': 'Repair',
  })
  const lead = await waitFor('the lead', () => b24Leads(w.portal).find((l) => l.ORIGIN_ID === leadId))
  const repair = uf!.LIST.find((i) => i.VALUE === 'Repair')!
  t.equal(String(lead[fieldName]), String(repair.ID), 'the answer went to the list item')

  // Creating it again maps it again without a second field.
  res = await w.tab.post('tiktok/create-field', {
    advertiserId: w.adv.id,
    pageId: w.form.pageId,
    question: 'Which service?',
    type: 'enumeration',
    items: ['Installation', 'Repair'],
  })
  t.equal(res.status, 200)
  t.equal(w.portal.userFields.filter((f) => f.FIELD_NAME === fieldName).length, 1)
})
