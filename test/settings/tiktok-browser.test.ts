/**
 * The settings tab's TikTok section in a real browser (Debian chromium through playwright-core),
 * framed by the emulated Bitrix24 page (test/emulator/frame-host.ts), with the TikTok API for
 * Business emulator (test/tiktok-emulator/app.ts) as TikTok: Connect opens a popup on TikTok's
 * auth page, approving there closes it and the tab shows the account picker; one of two ad
 * accounts is connected, its forms appear and TikTok has a subscription; "Only these forms"
 * narrows the subscriptions; a lead submitted on TikTok is pushed, delivered to the emulated
 * portal and shown in the delivery log; "Create a lead field", a real TikTok test lead, "Check now"
 * and an import work; Disconnect removes the connection and its subscriptions.
 * A read-only user sees the section with Connect disabled; with the popup blocked, the tab offers
 * a link to TikTok instead.
 *
 * Screenshots go to test-output/ (gitignored): tiktok-connect.png (the TikTok auth popup),
 * tiktok-picker.png (the account picker), tiktok-connected.png (a connected account).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startFrameHost } from '../emulator/index.js'
import { installedPortal, startApp, startEmulator, waitFor, type Teardown } from '../helpers.js'
import { buildTikTokEmulator, type TikTokEmulator } from '../tiktok-emulator/index.js'
import { launch, openTab, OUT, text, watchErrors } from './browser-harness.js'

/** Generous waits: two test files share the two cores with their browsers and emulators in CI. */
const WAIT = 30_000

const TT_APP_ID = 'tt-app-browser'
const TT_APP_SECRET = 'tt-secret-browser-0123456789'
const FIELDS = [{ name: 'name' }, { name: 'email' }, { name: 'phone_number' }, { name: 'Which service?' }]

async function startTikTok(t: Teardown): Promise<TikTokEmulator> {
  const tt = await buildTikTokEmulator({ appId: TT_APP_ID, appSecret: TT_APP_SECRET, taskDelayMs: 100 })
  await tt.listen(0)
  t.teardown(() => tt.close())
  return tt
}

/**
 * The app configured for the TikTok emulator (its OAuth callback registered there), a portal
 * with it installed, and the frame host showing its tab (to the administrator unless another
 * userId is given).
 */
async function startTab(t: Teardown, tt: TikTokEmulator, hostOptions: { userId?: number } = {}) {
  const emu = await startEmulator(t)
  const { url: appUrl } = await startApp(t, {
    emu,
    config: {
      TIKTOK_APP_ID: TT_APP_ID,
      TIKTOK_APP_SECRET: TT_APP_SECRET,
      TIKTOK_API_URL: tt.url,
      TIKTOK_AUTH_URL: tt.authUrl,
    },
  })
  tt.addRedirectUri(`${appUrl}/tiktok/oauth/callback`)
  const portal = await installedPortal(emu, appUrl)
  const host = await startFrameHost({ emulator: emu, portal, appUrl, ...hostOptions })
  t.teardown(() => host.close())
  return { appUrl, portal, host }
}

const valid = (tt: TikTokEmulator) => tt.subscriptions().filter((s) => s.valid)

t.test(
  'connect TikTok for Business from the tab: approve in the popup, pick an ad account, choose forms, receive a lead, disconnect',
  async (t) => {
    const tt = await startTikTok(t)
    const shop = tt.addAdvertiser({ name: 'Sunrise Spa' })
    const other = tt.addAdvertiser({ name: 'Other Shop' })
    const spring = tt.addForm(shop.id, { title: 'Spring promo', fields: FIELDS })
    const summer = tt.addForm(shop.id, { title: 'Summer promo', fields: FIELDS })
    tt.addForm(other.id, { title: 'Other form', fields: FIELDS })

    const { appUrl, portal, host } = await startTab(t, tt)

    const context = await launch(t)
    const errors: string[] = []
    const page = await context.newPage()
    watchErrors(page, errors, 'tab')
    context.on('page', (p) => watchErrors(p, errors, 'popup'))
    const frame = await openTab(page, host.url)
    mkdirSync(OUT, { recursive: true })

    // The section, with nothing connected yet.
    const connect = frame.getByRole('button', { name: 'Connect TikTok for Business' })
    await frame.locator('#tt-none').waitFor({ timeout: WAIT })
    t.equal(await text(frame, '#h-tiktok'), 'TikTok connection')
    t.ok(await connect.isEnabled(), 'an administrator can connect')
    t.ok(await frame.locator('#tt-unconfigured').isHidden(), 'the server is configured for TikTok')

    // Connect: TikTok's auth page opens in a popup; approve there.
    const [popup] = await Promise.all([context.waitForEvent('page', { timeout: WAIT }), connect.click()])
    await popup.waitForURL((u) => u.href.startsWith(tt.authUrl), { timeout: WAIT })
    await popup.locator('#approve').waitFor({ timeout: WAIT })
    t.equal(await popup.locator('input[name="advertiser_ids"]').count(), 2, 'TikTok offers both ad accounts')
    await popup.screenshot({ path: join(OUT, 'tiktok-connect.png') })
    await Promise.all([popup.waitForEvent('close', { timeout: WAIT }), popup.locator('#approve').click()])
    t.pass('the popup closed itself after the callback')

    // The account picker.
    await frame.locator('#tt-grant').waitFor({ state: 'visible', timeout: WAIT })
    t.match(await text(frame, '#tt-result'), /\S/, 'the callback page’s message is shown')
    t.equal(await frame.locator('[data-testid="tt-account"]').count(), 2, 'both granted ad accounts are listed')
    t.equal(await frame.getByLabel('Import leads from the last').inputValue(), '30', 'import defaults to 30 days')
    await frame.getByRole('checkbox', { name: /Sunrise Spa/ }).check()
    await frame.getByLabel('Import leads from the last').fill('0')
    await page.waitForTimeout(200)
    await page.screenshot({ path: join(OUT, 'tiktok-picker.png'), fullPage: true })
    await frame.getByRole('button', { name: 'Connect selected' }).click()

    // Connected: the account with its forms, and one subscription at TikTok.
    const card = frame.locator(`[data-testid="tt-conn"][data-advertiser="${shop.id}"]`)
    await card.waitFor({ timeout: WAIT })
    t.ok(await frame.locator('#tt-grant').isHidden(), 'the picker is gone')
    t.equal(await frame.locator('[data-testid="tt-conn"]').count(), 1, 'only the picked account is connected')
    await card.locator(`[data-testid="tt-form"][data-page="${spring.pageId}"]`).waitFor({ timeout: WAIT })
    t.equal(await card.locator('[data-testid="tt-form"]').count(), 2, 'both of its forms are listed')
    t.match(
      await card.locator(`[data-testid="tt-form"][data-page="${spring.pageId}"]`).textContent(),
      /Which service\?/,
      'with their questions',
    )
    t.ok(await card.getByRole('radio', { name: 'All forms (new forms included)' }).isChecked(), 'all forms by default')
    const subs1 = await waitFor('one subscription', () => (valid(tt).length === 1 ? valid(tt) : null))
    t.equal(subs1[0]?.advertiserId, shop.id, 'the subscription is for the picked account')
    t.match(subs1[0]?.callbackUrl, new RegExp(`^${appUrl}/tiktok/webhook/`), 'pointing at this portal’s webhook URL')

    // The mapping editor offers the forms' questions.
    await frame.getByRole('button', { name: 'Add rule' }).click()
    t.equal(
      await frame.getByLabel('TikTok field').last().locator('option', { hasText: 'Which service?' }).count(),
      1,
      'the mapping editor offers the form’s custom question',
    )
    await frame.getByRole('button', { name: 'Remove rule 1' }).click()

    // Only these forms: untick Summer promo, save; the subscriptions follow.
    await card.getByRole('radio', { name: 'Only these forms' }).check()
    await card.getByRole('checkbox', { name: 'Summer promo' }).uncheck()
    await card.getByRole('button', { name: 'Save forms' }).click()
    await card
      .locator(`[data-testid="tt-form"][data-page="${summer.pageId}"][data-selected="false"]`)
      .waitFor({ timeout: WAIT })
    t.equal(await card.locator('[data-testid="tt-conn-result"]').textContent(), 'Form choice saved.')
    const subs2 = await waitFor('a subscription for Spring promo only', () => {
      const v = valid(tt)
      return v.length === 1 && v[0]?.pageId === spring.pageId ? v : null
    })
    t.equal(subs2[0]?.pageId, spring.pageId, 'TikTok pushes only the selected form')
    await page.waitForTimeout(200)
    await page.screenshot({ path: join(OUT, 'tiktok-connected.png'), fullPage: true })

    // A lead on TikTok, pushed to the app, delivered to the portal, shown in the log.
    tt.submitLead(spring.pageId, {
      name: 'Linh Tran',
      email: 'linh@example.com',
      phone_number: '+84901234567',
      'Which service?': 'Massage',
    })
    const b24 = await waitFor('the lead in Bitrix24', () => [...portal.leads.values()][0], 15_000)
    t.match(JSON.stringify(b24), /Linh/, 'the portal got the lead')
    await frame.locator('#log-refresh').click()
    const row = frame.locator('#log-body tr[data-status="delivered"]').filter({ hasText: 'Linh Tran' })
    await row.waitFor({ timeout: WAIT })
    t.pass('the delivery log shows it delivered')

    // "Create a lead field" for the custom question: a UF_CRM_ field and a rule in the mapping editor.
    const springRow = card.locator(`[data-testid="tt-form"][data-page="${spring.pageId}"]`)
    await springRow.getByRole('button', { name: 'Create a lead field for “Which service?”' }).click()
    await springRow.locator('[data-testid="tt-form-result"].line--ok').waitFor({ timeout: WAIT })
    const created = /UF_CRM_\w+/.exec(
      (await springRow.locator('[data-testid="tt-form-result"]').textContent()) ?? '',
    )?.[0]
    t.ok(created, `the field is named (${created})`)
    await frame.locator('#rules select[id$="-target"]').first().waitFor({ timeout: WAIT })
    t.equal(
      await frame.locator('#rules select[id$="-source"]').first().inputValue(),
      'Which service?',
      'the mapping editor shows the new rule',
    )
    t.equal(await frame.locator('#rules select[id$="-target"]').first().inputValue(), created, 'to the new field')
    t.notOk(await frame.locator('#mapping-dirty').isVisible(), 'as saved')
    await springRow
      .getByRole('button', { name: 'Create a lead field for “Which service?”' })
      .waitFor({ state: 'detached', timeout: WAIT })

    // A real TikTok test lead, pushed by TikTok.
    const before = portal.leads.size
    await springRow.getByRole('button', { name: 'Send a real TikTok test lead through “Spring promo”' }).click()
    await springRow.locator('[data-testid="tt-form-result"].line--info').waitFor({ timeout: WAIT })
    await waitFor('the TikTok test lead in Bitrix24', () => portal.leads.size > before, 15_000)
    t.pass('the TikTok test lead reached the portal')

    // Check now; import the last 7 days.
    await card.getByRole('button', { name: 'Check now' }).click()
    await card
      .locator('[data-testid="tt-conn-result"].line--ok')
      .filter({ hasText: 'Checked.' })
      .waitFor({ timeout: WAIT })
    await card.getByRole('button', { name: 'Import…' }).click()
    await card.getByLabel('Import leads from the last').fill('7')
    await card.getByRole('button', { name: 'Import', exact: true }).click()
    await card
      .locator('[data-testid="tt-conn-result"]')
      .filter({ hasText: /Import finished|import has started/ })
      .waitFor({ timeout: WAIT })
    t.pass(`import: ${await card.locator('[data-testid="tt-conn-result"]').textContent()}`)

    // Disconnect (after confirming).
    const dialogs: string[] = []
    page.once('dialog', (d) => {
      dialogs.push(d.message())
      void d.accept()
    })
    await card.getByRole('button', { name: 'Disconnect' }).click()
    await frame.locator('#tt-none').waitFor({ timeout: WAIT })
    t.match(dialogs[0], /Sunrise Spa/, 'Disconnect asked first')
    t.equal(await frame.locator('[data-testid="tt-conn"]').count(), 0, 'no connection shown')
    await waitFor('no subscription left', () => valid(tt).length === 0)
    t.same(valid(tt), [], 'TikTok has no subscription left')

    t.same(errors, [], 'no script or console errors (CSP included) in the tab or the popup')
  },
)

t.test('a read-only user sees the TikTok section with Connect disabled', async (t) => {
  const tt = await startTikTok(t)
  const { host } = await startTab(t, tt, { userId: 2 })

  const context = await launch(t)
  const page = await context.newPage()
  const errors: string[] = []
  watchErrors(page, errors, 'tab')
  const frame = await openTab(page, host.url)
  await frame.locator('#ro-notice').waitFor({ timeout: WAIT })
  await frame.locator('#tt-none').waitFor({ timeout: WAIT })
  const connect = frame.getByRole('button', { name: 'Connect TikTok for Business' })
  t.ok(await connect.isVisible(), 'the Connect button is shown')
  t.ok(await connect.isDisabled(), 'but disabled')
  t.equal(await connect.getAttribute('title'), 'Only portal administrators can change settings', 'and says why')
  t.ok(await frame.locator('#tt-refresh').isEnabled(), 'reading stays possible')
  t.same(errors, [], 'no script or console errors')
})

t.test('a blocked popup: the tab offers a link to TikTok instead', async (t) => {
  const tt = await startTikTok(t)
  tt.addAdvertiser({ name: 'Sunrise Spa' })
  const { appUrl, host } = await startTab(t, tt)

  const context = await launch(t)
  // A popup blocker: window.open gives null in the app's frame.
  await context.addInitScript((origin) => {
    if (location.origin === origin) window.open = () => null
  }, new URL(appUrl).origin)
  const page = await context.newPage()
  const errors: string[] = []
  watchErrors(page, errors, 'tab')
  const frame = await openTab(page, host.url)
  await frame.locator('#tt-none').waitFor({ timeout: WAIT })
  await frame.getByRole('button', { name: 'Connect TikTok for Business' }).click()
  const link = frame.getByRole('link', { name: 'Open TikTok to connect' })
  await link.waitFor({ timeout: WAIT })
  t.ok((await link.getAttribute('href'))?.startsWith(tt.authUrl), 'the link goes to TikTok’s auth page')
  t.equal(await link.getAttribute('target'), '_blank', 'in a new window')
  t.same(errors, [], 'no script or console errors')
})
