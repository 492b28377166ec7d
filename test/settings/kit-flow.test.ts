/**
 * The settings tab end to end in real chromium, framed by the emulated Bitrix24 page
 * (test/emulator/frame-host.ts), across its screens: what the screen tests (kit-*.test.ts) pin one
 * screen at a time, here as one user's path.
 * - An administrator: the SDK handshake (title set, the frame fitted to the content's height), a
 *   mapping changed and saved, a test lead sent and delivered with that mapping, the overview's
 *   counters and the preview following it, the secret revealed and hidden again; no session, CSRF
 *   token or secret in any request URL or console line.
 * - A read-only user in Russian in a narrow slider: the read-only notice, every changing control
 *   disabled, reading still possible.
 * - TikTok for Business connected from the tab: the forms' questions offered in the mapping
 *   editor, a lead pushed by TikTok shown delivered in the log, "Create a lead field" making the
 *   rule, a real TikTok test lead, "Check now" and an import.
 * Every page fails on any script error or CSP violation. Screenshots: test-output/kit-flow-*.png.
 */
import type { FrameLocator, Page } from 'playwright-core'
import t from 'tap'
import { STRINGS } from '../../src/settings/i18n.js'
import { startFrameHost } from '../emulator/index.js'
import { installedPortal, startApp, startEmulator, type Teardown, waitFor } from '../helpers.js'
import { buildTikTokEmulator, type TikTokEmulator } from '../tiktok-emulator/index.js'
import { commands, launch, openTab, screenshot, text, waitForCommand, watchErrors } from './browser-harness.js'

/** Generous: the browser tests share two cores with their emulators. */
const WAIT = 30_000
const en = STRINGS.en

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Shows a screen by its kit tab and waits for it. */
async function show(frame: FrameLocator, tab: string, screen: string): Promise<void> {
  await frame.getByRole('tab', { name: tab }).click()
  await frame.locator(`[data-testid="${screen}"]`).waitFor({ timeout: WAIT })
}

/** A kit select menu picked from the keyboard: opened, filtered by its search box, the first match taken. */
async function pick(page: Page, frame: FrameLocator, selector: string, search: string): Promise<void> {
  await frame.locator(selector).click()
  await page.keyboard.type(search)
  await page.keyboard.press('Enter')
}

/** The mapping screen with the portal's fields loaded. */
async function showMapping(frame: FrameLocator): Promise<void> {
  await show(frame, en.h_mapping, 'screen-mapping')
  await frame.locator('[data-testid="fields-loading"]').waitFor({ state: 'detached', timeout: WAIT })
}

const TT_APP_ID = 'tt-app-flow'
const TT_APP_SECRET = 'tt-secret-flow-0123456789'
const FIELDS = [{ name: 'name' }, { name: 'email' }, { name: 'phone_number' }, { name: 'Which service?' }]

async function startTikTok(t: Teardown): Promise<TikTokEmulator> {
  const tt = await buildTikTokEmulator({ appId: TT_APP_ID, appSecret: TT_APP_SECRET, taskDelayMs: 100 })
  await tt.listen(0)
  t.teardown(() => tt.close())
  return tt
}

// One emulator of each and one app (configured for TikTok, which only the last test connects) for
// the three tests, each on a portal of its own: what one test does shows in no other one's tab.
const tt = await startTikTok(t)
const emu = await startEmulator(t)
const { url: appUrl, app } = await startApp(t, {
  emu,
  config: {
    TIKTOK_APP_ID: TT_APP_ID,
    TIKTOK_APP_SECRET: TT_APP_SECRET,
    TIKTOK_API_URL: tt.url,
    TIKTOK_AUTH_URL: tt.authUrl,
  },
})
tt.addRedirectUri(`${appUrl}/tiktok/oauth/callback`)

t.test(
  'the tab in an emulated Bitrix24 frame: change the mapping, save, send a test lead, see it delivered',
  async (t) => {
    const portal = await installedPortal(emu, appUrl)
    portal.addUserField({
      FIELD_NAME: 'UF_CRM_TIKTOK_CAMPAIGN',
      USER_TYPE_ID: 'string',
      EDIT_FORM_LABEL: 'TikTok campaign',
    })
    const host = await startFrameHost({ emulator: emu, portal, appUrl })
    t.teardown(() => host.close())

    const context = await launch(t)
    const page = await context.newPage()
    const errors: string[] = []
    const consoleLines: string[] = []
    const requestUrls: string[] = []
    watchErrors(page, errors, 'en/admin')
    page.on('console', (msg) => consoleLines.push(msg.text()))
    page.on('request', (req) => requestUrls.push(req.url()))
    const frame = await openTab(page, `${host.url}?lang=en&user=1&width=940`)

    // The SDK handshake: init data, then the title and the frame's height.
    await frame.locator('[data-testid="overview"]').waitFor({ timeout: WAIT })
    await waitForCommand(page, 'getInitData')
    await waitForCommand(page, 'setTitle')
    await waitForCommand(page, 'resizeWindow')
    t.equal(await page.locator('#b24-title').textContent(), en.page_title, 'the slider title was set through the SDK')
    const heights = (await commands(page))
      .filter((c) => c.command === 'resizeWindow')
      .map((c) => Number((c.params as { height?: number }).height))
    const asked = heights.at(-1) ?? 0
    t.ok(asked > 600, `the app asked for its content height (${asked}px)`)
    const frameHeight = await page.locator('#b24-app-frame').evaluate((f) => f.getBoundingClientRect().height)
    t.ok(Math.abs(frameHeight - asked) <= 1, `the host fitted the frame to it (${frameHeight}px)`)
    t.equal(await text(frame, '[data-testid="user-role"]'), en.role_admin, 'the user is an administrator')

    // A rule (campaign name → the custom string field) and the responsible person, then save.
    await showMapping(frame)
    t.equal(
      await frame.locator('[data-testid="mapping-readonly"]').count(),
      0,
      'an administrator gets no read-only notice',
    )
    await frame.locator('[data-testid="rule-add"]').click()
    await pick(page, frame, '[data-testid="rule-1"] [data-testid="rule-source"]', en.meta_campaign_name)
    await pick(page, frame, '[data-testid="rule-1"] [data-testid="rule-target"]', 'UF_CRM_TIKTOK_CAMPAIGN')
    // Bitrix24's own user dialog (b24.dialog.selectUser()).
    await frame.locator('[data-testid="pick-user"]').click()
    await page.getByRole('button', { name: 'Oleg Manager (#2)' }).click()
    await waitForCommand(page, 'selectUser')
    await frame
      .locator('[data-testid="const-ASSIGNED_BY_ID"]')
      .filter({ hasText: 'Oleg Manager' })
      .waitFor({ timeout: WAIT })
    t.ok(await frame.locator('[data-testid="mapping-dirty"]').isVisible(), 'unsaved changes are flagged')
    await frame.locator('[data-testid="mapping-save"]').click()
    await frame.locator('[data-testid="mapping-result-ok"]').waitFor({ timeout: WAIT })
    t.match(await text(frame, '[data-testid="mapping-result-ok"]'), en.mapping_saved, 'saved, in plain words')
    t.equal(await frame.locator('[data-testid="mapping-dirty"]').count(), 0, 'no unsaved changes after saving')
    const conf = (await app.settings.find(portal.memberId))!
    t.match(
      JSON.parse(conf.mapping_json),
      { rules: [{ source: 'meta.campaign_name', target: 'UF_CRM_TIKTOK_CAMPAIGN' }], constants: { ASSIGNED_BY_ID: 2 } },
      'the mapping is stored',
    )

    // Send a test lead and watch it arrive, with the new mapping applied.
    await show(frame, en.h_log, 'screen-log')
    await frame.getByRole('button', { name: en.test_btn }).click()
    await frame.locator('[data-testid="test-lead-result"][data-kind="ok"]').waitFor({ timeout: WAIT })
    t.match(await text(frame, '[data-testid="test-lead-result"]'), /Test lead delivered in .*: Bitrix24 lead #\d+/)
    const row = frame
      .locator('[data-testid="log-table"] tbody tr')
      .filter({ has: frame.locator('[data-status="delivered"]') })
    await row.first().waitFor({ timeout: WAIT })
    t.match(await row.first().textContent(), /Test Lead/, 'the delivered lead is in the log')
    const b24 = [...portal.leads.values()][0]
    t.ok(b24, 'the portal has the lead')
    t.equal(b24?.['UF_CRM_TIKTOK_CAMPAIGN'], 'Test campaign', 'the new rule filled the custom field')
    t.equal(Number(b24?.['ASSIGNED_BY_ID']), 2, 'the responsible person constant applied')

    // The overview's counters and chart follow.
    await show(frame, en.h_status, 'overview')
    await frame
      .locator('[data-testid="counters-today"] [data-k="delivered"]')
      .filter({ hasText: /^1$/ })
      .waitFor({ timeout: WAIT })
    await frame.locator('[data-testid="daily-chart"] canvas').waitFor({ timeout: WAIT })
    t.pass('one lead delivered today, and the chart is drawn')

    // The preview now shows what the latest lead becomes.
    await showMapping(frame)
    await frame
      .locator('[data-testid="preview-table"] tr[data-field="UF_CRM_TIKTOK_CAMPAIGN"]')
      .filter({ hasText: 'Test campaign' })
      .waitFor({ timeout: WAIT })
    t.pass('the preview maps the test lead')

    // Reveal the secret (only after asking), and hide it again.
    await show(frame, en.h_options, 'screen-options')
    t.equal(
      await frame.locator('[data-testid="options-readonly"]').count(),
      0,
      'no read-only line for an administrator',
    )
    const secret = frame.locator('[data-testid="secret"]')
    const masked = await secret.inputValue()
    t.match(masked, /•/, 'the secret starts masked')
    await frame.locator('[data-testid="secret-reveal"]').click()
    await waitFor('the secret revealed', async () => (await secret.inputValue()) === conf.signing_secret)
    await frame.getByRole('button', { name: en.hide }).click()
    await waitFor('the secret masked again', async () => (await secret.inputValue()) === masked)
    t.equal(await text(frame, '[data-testid="secret-reveal"]'), en.reveal, 'and can be revealed again')

    await screenshot(page, frame, 'kit-flow-en-admin')
    t.same(errors, [], 'no script error or CSP violation')

    // No credential ever travels in a URL or reaches the console.
    const boot = JSON.parse((await frame.locator('#boot').textContent()) ?? '{}') as { session: string; csrf: string }
    t.ok(boot.session && boot.csrf, 'the page carries its session and CSRF token')
    for (const [what, secretValue] of [
      ['session', boot.session],
      ['CSRF token', boot.csrf],
      ['signing secret', conf.signing_secret],
    ] as const) {
      t.notOk(
        requestUrls.some((u) => u.includes(secretValue)),
        `no request URL carries the ${what}`,
      )
      t.notOk(
        consoleLines.some((l) => l.includes(secretValue)),
        `the console shows no ${what}`,
      )
    }
  },
)

t.test('a read-only user sees every screen with the changing controls disabled (Russian, narrow slider)', async (t) => {
  const portal = await installedPortal(emu, appUrl, { lang: 'ru' })
  const host = await startFrameHost({ emulator: emu, portal, appUrl })
  t.teardown(() => host.close())
  const ru = STRINGS.ru

  const context = await launch(t)
  const page = await context.newPage()
  await page.setViewportSize({ width: 1000, height: 900 })
  const errors: string[] = []
  watchErrors(page, errors, 'ru/read-only')
  const frame = await openTab(page, `${host.url}?user=2&width=620`)
  await frame.locator('[data-testid="overview"]').waitFor({ timeout: WAIT })
  t.equal(await text(frame, '#overview-h'), ru.h_status, 'the page is in the portal language')
  t.equal(await text(frame, '[data-testid="user-role"]'), ru.role_readonly, 'the role says read-only')
  await waitForCommand(page, 'resizeWindow')

  await frame.getByRole('tab', { name: ru.h_mapping }).click()
  await frame.locator('[data-testid="screen-mapping"]').waitFor({ timeout: WAIT })
  t.match(
    await text(frame, '[data-testid="mapping-readonly"]'),
    /Изменять настройки могут только администраторы портала/,
    'the read-only notice, in Russian',
  )
  for (const id of ['mapping-save', 'rule-add'])
    t.ok(await frame.locator(`[data-testid="${id}"]`).isDisabled(), `${id} is disabled`)

  await frame.getByRole('tab', { name: ru.h_options }).click()
  await frame.locator('[data-testid="screen-options"]').waitFor({ timeout: WAIT })
  t.equal(await text(frame, '[data-testid="options-readonly"]'), ru.readonly_hint, 'the options say why')
  for (const id of ['options-save', 'opt-dedup', 'secret-reveal', 'secret-rotate', 'url-rotate'])
    t.ok(await frame.locator(`[data-testid="${id}"]`).isDisabled(), `${id} is disabled`)
  t.equal(
    await frame.locator('[data-testid="secret-rotate"]').getAttribute('title'),
    ru.readonly_hint,
    'and a disabled button says why',
  )

  await frame.getByRole('tab', { name: ru.h_log }).click()
  await frame.locator('[data-testid="screen-log"]').waitFor({ timeout: WAIT })
  for (const id of ['test-lead-btn', 'log-resend-all'])
    t.ok(await frame.locator(`[data-testid="${id}"]`).isDisabled(), `${id} is disabled`)
  t.ok(await frame.locator('[data-testid="log-refresh"]').isEnabled(), 'reading stays possible')

  await screenshot(page, frame, 'kit-flow-ru-readonly')
  t.same(errors, [], 'no script error or CSP violation')
})

t.test(
  'TikTok connected from the tab: its questions in the mapping editor, a pushed lead delivered, a lead field created, a TikTok test lead, check and import',
  async (t) => {
    const shop = tt.addAdvertiser({ name: 'Sunrise Spa' })
    const spring = tt.addForm(shop.id, { title: 'Spring promo', fields: FIELDS })
    const portal = await installedPortal(emu, appUrl)
    const host = await startFrameHost({ emulator: emu, portal, appUrl })
    t.teardown(() => host.close())

    const context = await launch(t)
    const errors: string[] = []
    const page = await context.newPage()
    watchErrors(page, errors, 'tab')
    context.on('page', (p) => {
      if (p !== page) watchErrors(p, errors, 'popup')
    })
    const frame = await openTab(page, `${host.url}?lang=en&user=1&width=1280`)

    // Connect: approve in TikTok's popup, pick the account, no earlier leads.
    await show(frame, en.h_tiktok, 'screen-tiktok')
    await frame.locator('[data-testid="tt-none"]').waitFor({ timeout: WAIT })
    const [popup] = await Promise.all([
      context.waitForEvent('page', { timeout: WAIT }),
      frame.getByRole('button', { name: en.tt_connect }).click(),
    ])
    await popup.locator('#approve').waitFor({ timeout: WAIT })
    await Promise.all([popup.waitForEvent('close', { timeout: WAIT }), popup.locator('#approve').click()])
    const picker = frame.locator('[data-testid="tt-grant"]')
    await picker.waitFor({ timeout: WAIT })
    await picker.getByRole('checkbox', { name: /Sunrise Spa/ }).check()
    await picker.getByLabel(en.tt_import_before).fill('0')
    await picker.getByRole('button', { name: en.tt_connect_selected }).click()
    const card = frame.locator(`[data-testid="tt-conn"][data-advertiser="${shop.id}"]`)
    const springRow = card.locator(`[data-testid="tt-form"][data-page="${spring.pageId}"]`)
    await springRow.waitFor({ timeout: WAIT })
    await waitFor('the subscription at TikTok', () =>
      tt.subscriptions().some((s) => s.valid && s.advertiserId === shop.id),
    )

    // The mapping editor offers the form's custom question.
    await showMapping(frame)
    await frame.locator('[data-testid="rule-add"]').click()
    await frame.locator('[data-testid="rule-1"] [data-testid="rule-source"]').click()
    await frame.getByRole('option', { name: 'Which service?', exact: true }).waitFor({ timeout: WAIT })
    t.equal(
      await frame.getByRole('option', { name: 'Which service?', exact: true }).count(),
      1,
      'the mapping editor offers the form’s custom question',
    )
    await page.keyboard.press('Escape')
    await frame.locator('[data-testid="rule-remove"]').click()
    await frame.locator('[data-testid="rules-empty"]').waitFor({ timeout: WAIT })

    // A lead on TikTok, pushed to the app, delivered to the portal, shown in the log.
    tt.submitLead(spring.pageId, {
      name: 'Linh Tran',
      email: 'linh@example.com',
      phone_number: '+84901234567',
      'Which service?': 'Massage',
    })
    const b24 = await waitFor('the lead in Bitrix24', () => [...portal.leads.values()][0], WAIT)
    t.match(JSON.stringify(b24), /Linh/, 'the portal got the lead')
    await show(frame, en.h_log, 'screen-log')
    await frame.locator('[data-testid="log-refresh"]').click()
    await frame
      .locator('[data-testid="log-table"] tbody tr')
      .filter({ hasText: 'Linh Tran' })
      .filter({ has: frame.locator('[data-status="delivered"]') })
      .waitFor({ timeout: WAIT })
    t.pass('the delivery log shows it delivered')

    // "Create a lead field" for the custom question: a UF_CRM_ field and a saved rule to it.
    await show(frame, en.h_tiktok, 'screen-tiktok')
    const createLabel = en.tt_create_field_label.replace('{question}', 'Which service?')
    await springRow.getByRole('button', { name: createLabel }).click()
    const formResult = springRow.locator('[data-testid="tt-form-result"][data-kind="ok"]')
    await formResult.waitFor({ timeout: WAIT })
    const created = /UF_CRM_\w+/.exec((await formResult.textContent()) ?? '')?.[0]
    t.ok(created, `the field is named (${created})`)
    t.ok(created && portal.userFields.some((f) => f.FIELD_NAME === created), 'the portal has the field')
    await springRow.getByRole('button', { name: createLabel }).waitFor({ state: 'detached', timeout: WAIT })
    t.pass('the question is no longer offered for a new field')
    await showMapping(frame)
    const rule = frame.locator('[data-testid="rule-1"]')
    await rule.waitFor({ timeout: WAIT })
    t.match(
      await rule.locator('[data-testid="rule-source"]').textContent(),
      'Which service?',
      'the mapping editor shows the new rule',
    )
    t.match(await rule.locator('[data-testid="rule-target"]').textContent(), created ?? '(none)', 'to the new field')
    t.equal(await frame.locator('[data-testid="mapping-dirty"]').count(), 0, 'as saved')

    // A real TikTok test lead, pushed by TikTok.
    await show(frame, en.h_tiktok, 'screen-tiktok')
    const before = portal.leads.size
    await springRow.getByRole('button', { name: en.tt_test_lead_label.replace('{form}', 'Spring promo') }).click()
    await springRow.locator('[data-testid="tt-form-result"][data-kind="info"]').waitFor({ timeout: WAIT })
    await waitFor('the TikTok test lead in Bitrix24', () => portal.leads.size > before, WAIT)
    t.pass('the TikTok test lead reached the portal')

    // Check now; import the last 7 days.
    await card.getByRole('button', { name: en.tt_check, exact: true }).click()
    await card
      .locator('[data-testid="tt-conn-result"][data-kind="ok"]')
      .filter({ hasText: en.tt_checked })
      .waitFor({ timeout: WAIT })
    await card.getByRole('button', { name: en.tt_import, exact: true }).click()
    await card.locator('[data-testid="tt-import-days"] input, input[data-testid="tt-import-days"]').first().fill('7')
    await card.locator('[data-testid="tt-import-do"]').click()
    const importLine = card
      .locator('[data-testid="tt-conn-result"]')
      .filter({ hasText: new RegExp(`${reEscape(en.tt_imported.split('{n}')[0]!)}|${reEscape(en.tt_import_started)}`) })
    await importLine.waitFor({ timeout: WAIT })
    t.pass(`import: ${await importLine.textContent()}`)

    await screenshot(page, frame, 'kit-flow-tiktok')
    t.same(errors, [], 'no script error or CSP violation in the tab or the popup')
  },
)
