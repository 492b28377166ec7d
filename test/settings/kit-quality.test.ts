/**
 * The kit tab's lead quality screen (src/web/screens/QualityScreen.vue, quality/QualityCard.vue;
 * issue 10) in real chromium, framed by the emulated Bitrix24 page, the app against both
 * emulators: per connected ad account the CRM event set from TikTok's crm/list and the Bitrix24
 * stage → TikTok event table with its defaults. An administrator chooses the set and changes a
 * stage's event; the save is what the API reads back and what a later stage move sends to the
 * emulated Events API; reset to defaults, kept across a tab switch until saved; a crm/list outage
 * said in plain words and the save refused in plain words; an ad account without an event set
 * guides the admin to TikTok Events Manager. Russian in the narrow slider, and a read-only user
 * in Vietnamese sees every control disabled. Then the loop's other end, in a world of its own: a
 * lead moved in the emulated portal, its CRM event taken by the emulated Events API, and the
 * delivery log says "sent to TikTok: Contacted, <time>" on that lead's row (in en and vn). Each page
 * fails on any script error or CSP violation; screenshots go to test-output/kit-quality-*.png.
 */
import type { FrameLocator, Locator } from 'playwright-core'
import t from 'tap'
import { fmt, STRINGS } from '../../src/settings/i18n.js'
import { startFrameHost } from '../emulator/index.js'
import { waitFor } from '../helpers.js'
import { deliveredLead, moveAndCollect, qualityWorld, tracked } from '../quality/world.js'
import { connect } from '../tiktok-business/flow.js'
import { launch, openTab, screenshot, text, watchErrors } from './browser-harness.js'

const WAIT = 20_000

type Stages = Array<{ id: string; event: string | null; defaultEvent: string | null }>

/** The text of what `selector` finds inside `within`. */
async function textIn(within: Locator, selector: string): Promise<string> {
  return (await within.locator(selector).textContent()) ?? ''
}

/**
 * Picks an option of a kit select with the keyboard (focus, Enter opens, arrows move, Enter
 * chooses): the list of a select low in the tall frame can open outside the host page's viewport,
 * where a click cannot reach it; the keyboard can.
 */
async function pick(frame: FrameLocator, trigger: Locator, name: string): Promise<void> {
  await trigger.focus()
  await trigger.press('Enter')
  const listbox = frame.getByRole('listbox')
  await listbox.waitFor({ timeout: WAIT })
  const names = (await listbox.getByRole('option').allTextContents()).map((s) => s.trim())
  const target = names.indexOf(name)
  if (target < 0) throw new Error(`no option ${name} in ${names.join(' | ')}`)
  // Keys go to the highlighted option, which holds the focus while the list is open.
  const highlighted = listbox.locator('[role="option"][data-highlighted]').first()
  for (let i = 0; i <= names.length; i++) {
    await highlighted.waitFor({ timeout: WAIT })
    const at = names.indexOf((await highlighted.textContent())?.trim() ?? '')
    if (at === target) break
    await highlighted.press(at < target ? 'ArrowDown' : 'ArrowUp')
  }
  await highlighted.press('Enter')
  await listbox.waitFor({ state: 'detached', timeout: WAIT })
}

t.test('the kit lead quality screen: event set and stage events saved and sent; guidance; read-only', async (t) => {
  const w = await qualityWorld(t)
  // A second ad account without any CRM event set at TikTok: the screen must say how to make one.
  await connect(w, [w.adv2.id])
  const host = await startFrameHost({ emulator: w.emu, portal: w.portal, appUrl: w.started.url })
  t.teardown(() => host.close())
  const context = await launch(t)
  const quality = async () =>
    (await (await w.tab.get(`quality?advertiserId=${w.adv.id}`)).json()) as {
      chosen: { eventSetId: string } | null
      saved: boolean
      stages: Stages
    }

  async function open(lang: 'en' | 'ru' | 'vn', user: 1 | 2, width: number) {
    const words = STRINGS[lang]
    const page = await context.newPage()
    const errors: string[] = []
    watchErrors(page, errors, `${lang}/${user}/${width}`)
    const frame = await openTab(page, `${host.url}?lang=${lang}&user=${user}&width=${width}`)
    await frame.getByRole('tab', { name: words.h_quality }).click()
    await frame.locator('[data-testid="screen-quality"]').waitFor({ timeout: WAIT })
    t.equal(await text(frame, '#q-h'), words.h_quality, `${lang}: the screen's heading in its language`)
    const card = frame.locator(`[data-testid="q-card"][data-advertiser="${w.adv.id}"]`)
    const card2 = frame.locator(`[data-testid="q-card"][data-advertiser="${w.adv2.id}"]`)
    await card.locator('[data-testid="q-stages"] [data-stage="JUNK"]').waitFor({ timeout: WAIT })
    return { words, page, errors, frame, card, card2 }
  }

  await t.test('an administrator in English: choose the set, change an event, save, sent on a move', async (t) => {
    const { words, page, errors, frame, card, card2 } = await open('en', 1, 1280)
    const event = (stage: string) => card.locator(`[data-testid="q-event-${stage}"]`)
    // The defaults from the stage semantics, nothing chosen yet.
    t.equal(await textIn(card, '[data-testid="q-set"]'), words.q_event_set_none, 'no event set chosen')
    t.match(await textIn(card, '[data-testid="q-sending"]'), words.q_sending_off, 'nothing is sent')
    t.match(await textIn(card, '[data-testid="q-sending"]'), words.q_defaults_note, 'the defaults, not saved')
    for (const [stage, label] of [
      ['NEW', words.q_event_none],
      ['IN_PROCESS', words.q_ev_contacted],
      ['PROCESSED', words.q_ev_qualified],
      ['CONVERTED', words.q_ev_converted],
      ['JUNK', words.q_ev_unqualified],
    ] as const)
      t.equal((await event(stage).textContent())?.trim(), label, `${stage}: ${label} by default`)
    t.equal(
      await card.locator('[data-testid="q-stages"] [data-default="Qualified"]').count(),
      1,
      'the default column names each default',
    )
    t.equal(await card.locator('[data-testid="q-no-sets"]').count(), 0, 'this account has a set: no guidance')

    // The account without a set: guided to TikTok Events Manager.
    await card2.locator('[data-testid="q-no-sets"]').waitFor({ timeout: WAIT })
    t.match(await textIn(card2, '[data-testid="q-no-sets"]'), 'Events Manager', 'guided to Events Manager')

    await pick(frame, card.locator('[data-testid="q-set"]'), 'Bitrix24 CRM')
    await pick(frame, event('PROCESSED'), words.q_ev_converted)
    await pick(frame, event('JUNK'), words.q_event_none)
    await card.locator('[data-testid="q-unsaved"]').waitFor({ timeout: WAIT })
    t.same((await quality()).chosen, null, 'nothing saved before Save')
    await card.locator('[data-testid="q-save"]').click()
    await card.getByText(fmt(words.q_saved, { set: 'Bitrix24 CRM' })).waitFor({ timeout: WAIT })
    t.equal(await card.locator('[data-testid="q-unsaved"]').count(), 0, 'no unsaved changes left')
    t.match(await textIn(card, '[data-testid="q-sending"]'), fmt(words.q_sending_to, { set: 'Bitrix24 CRM' }))

    const saved = await quality()
    t.match(saved, { chosen: { eventSetId: w.eventSetId }, saved: true }, 'the API reads the set back')
    t.same(
      saved.stages.map((s) => [s.id, s.event]),
      [
        ['NEW', null],
        ['IN_PROCESS', 'Contacted'],
        ['PROCESSED', 'Converted'],
        ['CONVERTED', 'Converted'],
        ['JUNK', null],
      ],
      'and the stage events as chosen',
    )

    // A lead from TikTok moved to PROCESSED now sends Converted to the emulated Events API.
    const lead = await deliveredLead(w)
    await moveAndCollect(w, w.portal, lead.b24Id, 'PROCESSED')
    await waitFor('the event at TikTok', () => tracked(w).events.length === 1)
    t.same(tracked(w).names, ['Converted'], 'the chosen event was sent')
    t.equal(tracked(w).events[0]?.eventId, `${lead.leadId}-Converted`)

    // Reset: the defaults back in the controls, not saved, and kept across another tab.
    await card.locator('[data-testid="q-reset"]').click()
    t.equal((await event('PROCESSED').textContent())?.trim(), words.q_ev_qualified, 'PROCESSED back to Qualified')
    t.equal((await event('JUNK').textContent())?.trim(), words.q_ev_unqualified, 'JUNK back to Unqualified')
    t.match(await textIn(card, '[data-testid="q-result"]'), words.q_reset_done, 'said: press Save to keep them')
    await frame.getByRole('tab', { name: words.h_log }).click()
    await frame.locator('[data-testid="screen-log"]').waitFor({ timeout: WAIT })
    await frame.getByRole('tab', { name: words.h_quality }).click()
    await card.locator('[data-testid="q-unsaved"]').waitFor({ timeout: WAIT })
    t.equal(
      (await event('PROCESSED').textContent())?.trim(),
      words.q_ev_qualified,
      'the unsaved reset kept across a tab switch',
    )
    t.equal((await quality()).stages.find((s) => s.id === 'PROCESSED')?.event, 'Converted', 'still not saved')
    await card.locator('[data-testid="q-save"]').click()
    await card.getByText(fmt(words.q_saved, { set: 'Bitrix24 CRM' })).waitFor({ timeout: WAIT })
    t.same(
      (await quality()).stages.map((s) => s.event),
      ['NEW', 'IN_PROCESS', 'PROCESSED', 'CONVERTED', 'JUNK'].map(
        (id) => saved.stages.find((s) => s.id === id)!.defaultEvent,
      ),
      'the defaults saved',
    )

    // TikTok does not list the sets: said in plain words; saving a set is refused in plain words.
    w.tt.faults.outage(503, { endpoint: 'crm/list' })
    await card.locator('[data-testid="q-refresh"]').click()
    await card.locator('[data-testid="q-sets-error"]').waitFor({ timeout: WAIT })
    t.match(
      await textIn(card, '[data-testid="q-sets-error"]'),
      words.q_sets_error.split('{error}')[0]!,
      'the crm/list failure in words',
    )
    await card.locator('[data-testid="q-save"]').click()
    const refused = card.locator('[data-testid="q-result"][data-kind="error"]')
    await refused.waitFor({ timeout: WAIT })
    t.match((await refused.textContent()) ?? '', /TikTok/, 'the refusal in words')
    t.notMatch((await refused.textContent()) ?? '', /APP_ERR_|HTTP_/, 'not a code')
    w.tt.faults.clear()

    await screenshot(page, frame, 'kit-quality-en-admin')
    // The refused POST is logged by chromium as a failed resource; nothing else may be.
    const other = errors.filter((e) => !/status of 502 .*\/api\/settings\/quality/.test(e))
    t.same(other, [], 'no script error or CSP violation besides the refused request')
    await page.close()
  })

  await t.test('an administrator in Russian, narrow slider: the saved choice and the guidance', async (t) => {
    const { words, page, errors, frame, card, card2 } = await open('ru', 1, 620)
    t.equal(await textIn(card, '[data-testid="q-set"]'), 'Bitrix24 CRM', 'the saved set shown')
    t.equal((await card.locator('[data-testid="q-event-IN_PROCESS"]').textContent())?.trim(), words.q_ev_contacted)
    await card2.locator('[data-testid="q-no-sets"]').waitFor({ timeout: WAIT })
    t.match(await textIn(card2, '[data-testid="q-no-sets"]'), words.q_no_sets_title, 'the guidance in Russian')
    // Choose "none": nothing is sent any more.
    await pick(frame, card.locator('[data-testid="q-set"]'), words.q_event_set_none)
    await card.locator('[data-testid="q-save"]').click()
    await card.getByText(words.q_saved_off).waitFor({ timeout: WAIT })
    t.same((await quality()).chosen, null, 'no set: nothing is sent')
    const { scroll, client } = await frame.locator('html').evaluate(() => ({
      scroll: document.scrollingElement!.scrollWidth,
      client: document.scrollingElement!.clientWidth,
    }))
    t.ok(scroll <= client + 1, `no horizontal scroll (${scroll} <= ${client})`)
    await screenshot(page, frame, 'kit-quality-ru-admin')
    t.same(errors, [], 'no script error or CSP violation')
    await page.close()
  })

  await t.test('a read-only user in Vietnamese: every control disabled', async (t) => {
    const { words, page, errors, frame, card } = await open('vn', 2, 940)
    for (const id of ['q-set', 'q-event-NEW', 'q-event-PROCESSED', 'q-event-JUNK', 'q-save', 'q-reset'])
      t.ok(await card.locator(`[data-testid="${id}"]`).isDisabled(), `${id} disabled`)
    t.equal(await textIn(card, '[data-testid="q-readonly"]'), words.readonly_hint, 'why, in plain words')
    t.equal((await card.locator('[data-testid="q-event-PROCESSED"]').textContent())?.trim(), words.q_ev_qualified)
    await screenshot(page, frame, 'kit-quality-vn-readonly')
    t.same(errors, [], 'no script error or CSP violation')
    await page.close()
  })
})

t.test("the log says which events went back to TikTok for a lead's stage changes", async (t) => {
  const w = await qualityWorld(t)
  const chosen = await w.tab.post('quality', { advertiserId: w.adv.id, eventSetId: w.eventSetId, stageMap: {} })
  t.equal(chosen.status, 200, 'the event set chosen')
  const { b24Id, rowId } = await deliveredLead(w)
  await moveAndCollect(w, w.portal, b24Id, 'IN_PROCESS')
  await waitFor('Contacted at TikTok', () => tracked(w).events.length === 1)
  await waitFor('marked sent', async () => {
    const rows = await w.started.app.db.selectFrom('tiktok_event_outbox').select('status').execute()
    return rows.length === 1 && rows[0]?.status === 'sent'
  })

  const host = await startFrameHost({ emulator: w.emu, portal: w.portal, appUrl: w.started.url })
  t.teardown(() => host.close())
  const context = await launch(t)
  for (const lang of ['en', 'vn'] as const) {
    const words = STRINGS[lang]
    const page = await context.newPage()
    const errors: string[] = []
    watchErrors(page, errors, lang)
    const frame = await openTab(page, `${host.url}?lang=${lang}&user=1&width=1280`)
    await frame.getByRole('tab', { name: words.h_log }).click()
    const row = frame.locator('[data-testid="log-table"] tbody tr').filter({
      has: frame.locator(`[data-lead-id="${rowId}"]`),
    })
    const line = row.locator('[data-testid="tt-event"]')
    await line.waitFor({ timeout: WAIT })
    t.equal(await line.getAttribute('data-status'), 'sent', `${lang}: the event is marked sent`)
    const [before] = words.log_tt_event_sent.replace('{event}', 'Contacted').split('{time}')
    t.match((await line.textContent()) ?? '', before!, `${lang}: in plain words, with the event's name`)
    t.same(errors, [], `${lang}: no script error or CSP violation`)
    await page.close()
  }
})
