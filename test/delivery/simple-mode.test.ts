/**
 * Portals in simple CRM mode (leads off, the default on new portals): the real app against the
 * emulator with crmMode 2. Each TikTok lead becomes a contact and a deal, written with
 * crm.item.add in one batch per ≤ 25 leads (`$result[...]` chaining the contact into its deal),
 * originatorId/originId on both, source and UTM on the deal; an existing contact (same phone or
 * e-mail) is reused; an unknown outcome is reconciled by originId without doubles; a mode switch
 * is detected and the placements follow it.
 * @see https://apidocs.bitrix24.com/api-reference/crm/crm-settings-mode-get.html
 * @see https://apidocs.bitrix24.com/api-reference/crm/universal/crm-item-add.html
 * @see https://apidocs.bitrix24.com/tutorials/crm/how-to-add-crm-objects/how-to-add-objects-with-crm-mode.html
 */
import t from 'tap'
import { manifest } from '../../manifest/app.js'
import { STRINGS } from '../../src/settings/i18n.js'
import { notificationBody, postWebhook, sampleLead, storedLead, type SampleLead } from '../fixtures.js'
import { api, installedPortal, openTab, startApp, startEmulator, waitFor } from '../helpers.js'
import { startFrameHost, type Emulator, type Portal } from '../emulator/index.js'
import { callJson } from '../emulator/helpers.js'
import { launch, openTab as openFrame, watchErrors } from '../settings/browser-harness.js'

let n = 0
/** A lead with its own phone and e-mail (sampleLead's are shared by every lead). */
function personLead(over: Partial<SampleLead> = {}): SampleLead {
  n += 1
  return sampleLead({
    name: `Tran Thi ${n}`,
    phone: `+8490${String(1000000 + n)}`,
    email: `p${n}@example.test`,
    ...over,
  })
}

/** Top-level batch calls to this portal that carried crm.item.add commands. */
function addBatches(emu: Emulator, portal: Portal): number {
  return emu.calls.filter(
    (c) =>
      c.memberId === portal.memberId &&
      !c.inBatch &&
      c.method === 'batch' &&
      JSON.stringify(c.params).includes('crm.item.add'),
  ).length
}

function inBatch(emu: Emulator, portal: Portal, method: string, entityTypeId?: number): number {
  return emu.calls.filter(
    (c) =>
      c.memberId === portal.memberId &&
      c.method === method &&
      (entityTypeId === undefined || Number((c.params as { entityTypeId?: unknown }).entityTypeId) === entityTypeId),
  ).length
}

const placementsOf = (portal: Portal) => portal.placements.map((p) => p.PLACEMENT).sort()
/** What each mode binds: its list's menu (the settings) and its card's tab (a lead's TikTok story). */
const CLASSIC_PLACEMENTS = ['CRM_LEAD_DETAIL_TAB', 'CRM_LEAD_LIST_MENU']
const SIMPLE_PLACEMENTS = ['CRM_DEAL_DETAIL_TAB', 'CRM_DEAL_LIST_MENU']

t.test('simple mode: each lead is a contact and a deal, one batch per 25 leads, no crm.lead.add', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url, { crmMode: 2 })
  t.equal((await app.portals.find(portal.memberId))!.crm_mode, 2, 'the mode was detected at install')
  t.same(
    placementsOf(portal),
    SIMPLE_PLACEMENTS,
    'the deal list menu and card tab are bound, not the lead list and card that do not exist',
  )
  const bound = await callJson(portal, 'placement.get', {}, portal.issueToken().access_token)
  t.same(
    bound.body.result.map((p: { placement: string }) => p.placement).sort(),
    SIMPLE_PLACEMENTS,
    'placement.get says the same',
  )
  const conf = (await app.settings.find(portal.memberId))!
  // Lead-style names in the mapping reach the right item: POST the contact's, ASSIGNED_BY_ID both.
  await app.settings.update(portal.memberId, {
    mapping_json: JSON.stringify({ rules: [{ source: 'job', target: 'POST' }], constants: { ASSIGNED_BY_ID: 2 } }),
  })
  const leads = Array.from({ length: 30 }, () => personLead({ extra: { job: 'Engineer' } }))
  // Before the first delivery, so the 30 leads are due together.
  const before = addBatches(emu, portal)
  await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
  await waitFor('30 delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 30, 20_000)

  t.equal(addBatches(emu, portal) - before, 2, '30 leads went in 2 batches (25 + 5): 50 commands at most each')
  t.equal(inBatch(emu, portal, 'crm.lead.add'), 0, 'no crm.lead.add: nothing depends on the implicit conversion')
  t.equal(inBatch(emu, portal, 'crm.item.add', 3), 30, 'one contact command per lead')
  t.equal(inBatch(emu, portal, 'crm.item.add', 2), 30, 'one deal command per lead')
  t.equal(portal.contacts.size, 30)
  t.equal(portal.deals.size, 30)
  t.equal(portal.leads.size, 0, 'no lead was made')

  for (const l of leads) {
    const row = (await app.leads.findByTikTokId(portal.memberId, l.id))!
    const deal = portal.deals.get(row.b24_lead_id!)!
    const contact = portal.contacts.get(row.b24_contact_id!)!
    t.equal(row.b24_entity, 'deal', 'recorded as a deal')
    t.match(
      deal,
      {
        ORIGINATOR_ID: manifest.code,
        ORIGIN_ID: l.id,
        SOURCE_ID: 'ADVERTISING',
        UTM_SOURCE: 'tiktok',
        UTM_MEDIUM: 'paid_social',
        UTM_CAMPAIGN: 'Spring campaign',
        CONTACT_ID: String(row.b24_contact_id),
      },
      'deal: origin, source, UTM, its contact',
    )
    t.match(deal.TITLE, /TikTok lead/)
    t.match(deal.COMMENTS, /TikTok lead ID/)
    t.match(
      contact,
      { ORIGINATOR_ID: manifest.code, ORIGIN_ID: l.id, NAME: 'Tran Thi', LAST_NAME: l.name!.split(' ').pop() },
      'contact: origin and name',
    )
    t.match(contact.PHONE, [{ VALUE: l.phone }])
    t.match(contact.EMAIL, [{ VALUE: l.email }])
    t.match(contact, { POST: 'Engineer', ASSIGNED_BY_ID: '2' }, 'mapped rule and constant on the contact')
    t.equal(deal.ASSIGNED_BY_ID, '2', 'the constant responsible on the deal')
  }
  // The delivery log links each lead to its deal's card.
  const log = await (await api(url, await openTab(url, portal)).get('leads?limit=5')).json()
  const first = log.leads[0]
  t.match(first.b24LeadUrl, new RegExp(`/crm/deal/details/${first.b24LeadId}/$`), 'the log links the deal card')
  t.end()
})

t.test(
  'an existing contact with the same phone or e-mail is reused; two leads of one batch share one new contact',
  async (t) => {
    const emu = await startEmulator(t)
    const { app, url } = await startApp(t, { emu })
    const portal = await installedPortal(emu, url, { crmMode: 2 })
    const { access_token: token } = portal.issueToken()
    const made = await callJson(
      portal,
      'crm.item.add',
      {
        entityTypeId: 3,
        fields: {
          name: 'Known',
          lastName: 'Person',
          fm: [{ typeId: 'PHONE', valueType: 'WORK', value: '+84905550001' }],
        },
      },
      token,
    )
    const known = made.body.result.item.id as number
    const conf = (await app.settings.find(portal.memberId))!
    const returning = personLead({ phone: '+84905550001' })
    const twinA = personLead({ email: 'twin@example.test' })
    const twinB = personLead({ email: 'twin@example.test' })
    await postWebhook(url, conf.webhook_key, notificationBody([returning, twinA, twinB]), {
      secret: conf.signing_secret,
    })
    await waitFor('3 delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 3)

    t.ok(inBatch(emu, portal, 'crm.duplicate.findbycomm') >= 1, 'contacts were looked up by phone/e-mail')
    const row = (await app.leads.findByTikTokId(portal.memberId, returning.id))!
    t.equal(row.b24_contact_id, known, "the existing contact is the deal's")
    t.same(portal.deals.get(row.b24_lead_id!)!.CONTACT_IDS, [known])
    const a = (await app.leads.findByTikTokId(portal.memberId, twinA.id))!
    const b = (await app.leads.findByTikTokId(portal.memberId, twinB.id))!
    t.equal(a.b24_contact_id, b.b24_contact_id, 'the twins share one contact')
    t.not(a.b24_lead_id, b.b24_lead_id, 'each has its own deal')
    t.equal(portal.contacts.size, 2, 'one existing + one new contact, none for the returning person')
    t.equal(portal.deals.size, 3)
  },
)

t.test(
  'an unknown outcome (batch cut mid-way) is reconciled by originId: every lead one contact and one deal',
  async (t) => {
    const emu = await startEmulator(t)
    const { app, url } = await startApp(t, { emu })
    const portal = await installedPortal(emu, url, { crmMode: 2 })
    const conf = (await app.settings.find(portal.memberId))!
    // No phone or e-mail: no look-up batch, so the first batch is the one with the adds.
    const leads = Array.from({ length: 20 }, () => personLead({ phone: undefined, email: undefined }))
    emu.faults.failNext(1, 'cut-mid-batch', { method: 'batch', memberId: portal.memberId })
    await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
    await waitFor('20 delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 20, 20_000)

    t.ok(
      emu.calls.some((c) => c.memberId === portal.memberId && c.method === 'batch' && c.error === 'cut-mid-batch'),
      'the batch was cut',
    )
    t.ok(inBatch(emu, portal, 'crm.item.list', 2) >= 1, 'deals were looked up by originId')
    const dealOrigins = [...portal.deals.values()].map((d) => String(d.ORIGIN_ID))
    const contactOrigins = [...portal.contacts.values()].map((c) => String(c.ORIGIN_ID))
    t.same([dealOrigins.length, new Set(dealOrigins).size], [20, 20], 'every lead one deal')
    t.same([contactOrigins.length, new Set(contactOrigins).size], [20, 20], 'every lead one contact')
    t.equal(inBatch(emu, portal, 'crm.item.add', 2), 20, 'no deal was sent twice')
    for (const l of leads) {
      const row = (await app.leads.findByTikTokId(portal.memberId, l.id))!
      t.equal(String(portal.deals.get(row.b24_lead_id!)?.ORIGIN_ID), l.id, 'the row points at its own deal')
    }
  },
)

t.test('a contact made while its deal failed is reused when the lead is sent again', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url, { crmMode: 2 })
  const conf = (await app.settings.find(portal.memberId))!
  // A stage the deal pipeline does not have: Bitrix24 refuses the deal, the contact is made.
  await app.settings.update(portal.memberId, {
    mapping_json: JSON.stringify({ rules: [], constants: { STAGE_ID: 'NOPE' } }),
  })
  // No phone or e-mail: only the contact id the lead kept can stop a second contact.
  const lead = personLead({ phone: undefined, email: undefined })
  await postWebhook(url, conf.webhook_key, notificationBody([lead]), { secret: conf.signing_secret })
  await waitFor('failed', async () => (await app.leads.counts(portal.memberId)).failed === 1)
  const failed = (await app.leads.findByTikTokId(portal.memberId, lead.id))!
  t.equal(portal.contacts.size, 1, 'the contact was made')
  t.equal(portal.deals.size, 0, 'the deal was not')
  t.ok(failed.b24_contact_id && portal.contacts.has(failed.b24_contact_id), 'the lead keeps the contact it made')

  await app.settings.update(portal.memberId, { mapping_json: JSON.stringify({ rules: [], constants: {} }) })
  t.equal(await app.leads.resend(portal.memberId, 'all-failed'), 1)
  app.dispatcher.notify(portal.memberId)
  await waitFor('delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 1)
  const row = (await app.leads.findByTikTokId(portal.memberId, lead.id))!
  t.equal(portal.contacts.size, 1, 'no second contact')
  t.equal(row.b24_contact_id, failed.b24_contact_id)
  t.same(
    portal.deals.get(row.b24_lead_id!)!.CONTACT_IDS,
    [failed.b24_contact_id],
    'the deal is bound to the contact made before',
  )
})

t.test('a switch from classic to simple mode is detected: later leads go as deals, placements follow', async (t) => {
  const emu = await startEmulator(t)
  // The stored mode is asked again before a delivery once it is older than this.
  const { app, url } = await startApp(t, { emu, delivery: { crmModeMaxAgeMs: 50 } })
  const portal = await installedPortal(emu, url)
  t.equal((await app.portals.find(portal.memberId))!.crm_mode, 1)
  t.same(placementsOf(portal), CLASSIC_PLACEMENTS)
  const conf = (await app.settings.find(portal.memberId))!
  const first = personLead()
  await postWebhook(url, conf.webhook_key, notificationBody([first]), { secret: conf.signing_secret })
  await waitFor('first delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 1)
  t.equal(portal.leads.size, 1, 'classic: a lead')
  t.equal((await app.leads.findByTikTokId(portal.memberId, first.id))!.b24_entity, 'lead')

  portal.crmMode = 2
  await new Promise((r) => setTimeout(r, 100))
  const second = personLead()
  await postWebhook(url, conf.webhook_key, notificationBody([second]), { secret: conf.signing_secret })
  await waitFor('second delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 2)
  const row = (await app.leads.findByTikTokId(portal.memberId, second.id))!
  t.equal(row.b24_entity, 'deal', 'after the switch: a deal')
  t.equal(String(portal.deals.get(row.b24_lead_id!)!.ORIGIN_ID), second.id)
  t.equal(portal.leads.size, 1, 'no lead for the second')
  t.equal((await app.portals.find(portal.memberId))!.crm_mode, 2, 'the new mode is stored')
  await waitFor('placements rebound', () => placementsOf(portal).join() === SIMPLE_PLACEMENTS.join())
  t.same(placementsOf(portal), SIMPLE_PLACEMENTS, 'the lead list menu and card tab are unbound, the deal ones bound')
})

t.test(
  'the tab says which mode the portal is in, re-checks it when an administrator opens it, and offers contact and deal fields',
  async (t) => {
    const emu = await startEmulator(t)
    const { url } = await startApp(t, { emu })
    const portal = await installedPortal(emu, url, { crmMode: 2 })
    const tab = await openTab(url, portal)
    t.equal(tab.status, 200)
    const s = api(url, tab)
    const state = await (await s.get('state')).json()
    t.match(state.crm, { mode: 2, creates: 'contact_and_deal' })
    t.match(
      state.crm.text,
      /Leads are off on this portal \(simple CRM\): each TikTok lead becomes a contact and a deal/,
    )

    const fields = await (await s.get('fields')).json()
    t.equal(fields.crmMode, 2)
    const byCode = Object.fromEntries(fields.fields.map((f: { code: string }) => [f.code, f]))
    t.match(byCode.NAME, { entity: 'contact' }, "the person's name is a contact field")
    t.match(byCode.PHONE, { entity: 'contact' })
    t.match(byCode.TITLE, { entity: 'deal' }, "the title is the deal's")
    t.match(byCode.UTM_CAMPAIGN, { entity: 'deal' })
    t.notOk(byCode.STATUS_ID, 'no lead status in simple mode')
    t.notOk(byCode.CONTACT_IDS, "the contact link is the app's to set")
    const saved = await s.post('mapping', {
      rules: [{ source: 'email', target: 'COMMENTS' }],
      constants: { STATUS_ID: 'NEW' },
    })
    t.equal(saved.status, 400, 'a lead-only constant does not fit a simple-mode portal')

    // The administrator switches leads back on: the next tab open sees it and rebinds the lead list menu.
    portal.crmMode = 1
    const again = await openTab(url, portal)
    const state2 = await (await api(url, again).get('state')).json()
    t.match(state2.crm, { mode: 1, creates: 'lead' })
    await waitFor('placements rebound', () => placementsOf(portal).join() === CLASSIC_PLACEMENTS.join())
    t.same(placementsOf(portal), CLASSIC_PLACEMENTS)
    const fields2 = await (await api(url, again).get('fields')).json()
    t.ok(
      fields2.fields.some((f: { code: string }) => f.code === 'STATUS_ID'),
      'lead fields again',
    )
  },
)

t.test(
  'leads left sending (a batch cut after some contacts): a found deal is delivered, a found contact is bound on the resend, the rest sent',
  async (t) => {
    const emu = await startEmulator(t)
    const { app, url } = await startApp(t, { emu })
    const portal = await installedPortal(emu, url, { crmMode: 2 })
    const { access_token: token } = portal.issueToken()
    const m = portal.memberId
    const ids = ['7000000000000000001', '7000000000000000002', '7000000000000000003']
    const stored = ids.map((id) => ({
      tiktokLeadId: id,
      format: 'push',
      isTest: false,
      rawJson: '{}',
      leadJson: JSON.stringify(
        storedLead(id, { format: 'push', formName: 'F', answers: [{ key: 'name', value: `Le Van ${id.slice(-1)}` }] }),
      ),
    }))
    await app.leads.insertMany(m, stored, { scheme: 'test', valid: true })
    // Claimed long ago and never answered: what a crash or a lost answer leaves behind.
    t.equal((await app.leads.claimDue(m, 10, Date.now() - 120_000)).length, 3)
    // On the portal: lead 1 got its contact and its deal, lead 2 only its contact, lead 3 nothing.
    const origin = (id: string) => ({ originatorId: manifest.code, originId: id })
    const c1 = (
      await callJson(portal, 'crm.item.add', { entityTypeId: 3, fields: { name: 'Le Van', ...origin(ids[0]!) } }, token)
    ).body.result.item.id as number
    const d1 = (
      await callJson(
        portal,
        'crm.item.add',
        { entityTypeId: 2, fields: { title: 'T', contactIds: [c1], ...origin(ids[0]!) } },
        token,
      )
    ).body.result.item.id as number
    const c2 = (
      await callJson(portal, 'crm.item.add', { entityTypeId: 3, fields: { name: 'Le Van', ...origin(ids[1]!) } }, token)
    ).body.result.item.id as number
    const addsBefore = inBatch(emu, portal, 'crm.item.add')

    app.dispatcher.notify(m)
    await waitFor('3 delivered', async () => (await app.leads.counts(m)).delivered === 3, 15_000)
    const row = async (i: number) => (await app.leads.findByTikTokId(m, ids[i]!))!
    t.match(
      await row(0),
      { b24_entity: 'deal', b24_lead_id: d1, b24_contact_id: c1 },
      'lead 1: its deal found, nothing sent',
    )
    const r2 = await row(1)
    t.equal(r2.b24_contact_id, c2, 'lead 2: the contact it already had')
    t.same(portal.deals.get(r2.b24_lead_id!)!.CONTACT_IDS, [c2], 'and a deal bound to it')
    const r3 = await row(2)
    t.ok(r3.b24_contact_id && r3.b24_contact_id !== c1 && r3.b24_contact_id !== c2, 'lead 3: a contact of its own')
    t.equal(
      inBatch(emu, portal, 'crm.item.add') - addsBefore,
      3,
      'sent: a deal for lead 2, a contact and a deal for lead 3',
    )
    t.equal(portal.contacts.size, 3)
    t.equal(portal.deals.size, 3)
  },
)

t.test('in a real browser: the tab says leads are off and the editor groups contact and deal fields', async (t) => {
  const emu = await startEmulator(t)
  const { url: appUrl, app } = await startApp(t, { emu })
  const portal = await installedPortal(emu, appUrl, { crmMode: 2 })
  const host = await startFrameHost({ emulator: emu, portal, appUrl })
  t.teardown(() => host.close())
  const context = await launch(t)
  const page = await context.newPage()
  const errors: string[] = []
  watchErrors(page, errors, 'tab')
  const en = STRINGS.en
  const frame = await openFrame(page, `${host.url}?lang=en&user=1`)
  await frame.getByRole('tab', { name: en.h_mapping }).click()
  await frame.locator('[data-testid="screen-mapping"]').waitFor({ timeout: 15_000 })
  t.equal(await frame.getByText(en.crm_mode_simple, { exact: true }).count(), 1, 'the tab says leads are off')
  await frame.locator('[data-testid="fields-loading"]').waitFor({ state: 'detached', timeout: 15_000 })
  t.equal(await frame.locator('[data-testid="const-STATUS_ID"]').count(), 0, 'no lead status constant: a deal has none')
  await frame.locator('[data-testid="rule-add"]').click()
  const rule = frame.locator('[data-testid="rule-1"]')
  // The target menu lists each group's label, then its fields ("Title (CODE)"), in order.
  await rule.locator('[data-testid="rule-target"]').click()
  const listbox = frame.getByRole('listbox')
  await listbox.waitFor({ timeout: 15_000 })
  const byLabel = await listbox.evaluate((box) => {
    const groups: Record<string, string[]> = {}
    let group = ''
    for (const el of box.querySelectorAll('[data-slot="label"], [role="option"]')) {
      const words = (el.textContent ?? '').trim()
      if (el.getAttribute('data-slot') === 'label') {
        group = words
        groups[group] = []
      } else groups[group]?.push(/\(([A-Z][A-Z0-9_]*)\)(?: · .*)?$/.exec(words)?.[1] ?? words.split(' · ')[0]!)
    }
    return groups
  })
  await page.keyboard.press('Escape')
  const contact = byLabel[en.group_contact_fields]
  const deal = byLabel[en.group_deal_fields]
  t.ok(contact?.includes('POST') && contact.includes('PHONE'), "the person's fields under Contact")
  t.ok(deal?.includes('UTM_CAMPAIGN') && !deal.includes('POST'), 'the rest under Deal')
  for (const [trigger, search] of [
    ['rule-source', en.meta_ad_name],
    ['rule-target', '(POST)'],
  ] as const) {
    await rule.locator(`[data-testid="${trigger}"]`).click()
    await page.keyboard.type(search)
    await page.keyboard.press('Enter')
  }
  await frame.locator('[data-testid="mapping-save"]').click()
  await frame
    .locator('[data-testid="mapping-result-ok"], [data-testid="mapping-result-info"]')
    .waitFor({ timeout: 15_000 })
  t.match(
    JSON.parse((await app.settings.find(portal.memberId))!.mapping_json),
    { rules: [{ source: 'meta.ad_name', target: 'POST' }] },
    'a contact field is saved as a target',
  )
  t.same(errors, [], 'no script or CSP errors')
})
