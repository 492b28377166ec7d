/**
 * The kit tab's TikTok screen (src/web/screens/TikTokScreen.vue) in real
 * chromium, framed by the emulated Bitrix24 page, with the TikTok API for Business emulator as
 * TikTok: Connect opens TikTok's
 * auth page in a popup, approving closes it and the screen shows the account picker; one of two
 * ad accounts is connected, its card lists its forms with their questions and TikTok has a
 * subscription; "Only these forms" narrows the subscriptions; a read-only user (in Russian, in a
 * narrow slider) sees the same card with every changing control disabled; Disconnect (after a
 * confirmation) removes the connection and its subscriptions. Fails on any script error or CSP
 * violation; screenshots go to test-output/kit-tiktok-*.png.
 */
import t from 'tap'
import { strings } from '../../src/settings/i18n.js'
import { startFrameHost } from '../emulator/index.js'
import { installedPortal, startApp, startEmulator, type Teardown, waitFor } from '../helpers.js'
import { buildTikTokEmulator, type TikTokEmulator } from '../tiktok-emulator/index.js'
import { launch, openTab, screenshot, text, watchErrors } from './browser-harness.js'

const WAIT = 30_000
const TT_APP_ID = 'tt-app-kit'
const TT_APP_SECRET = 'tt-secret-kit-0123456789'
const FIELDS = [{ name: 'name' }, { name: 'email' }, { name: 'phone_number' }, { name: 'Which service?' }]

async function startTikTok(t: Teardown): Promise<TikTokEmulator> {
  const tt = await buildTikTokEmulator({ appId: TT_APP_ID, appSecret: TT_APP_SECRET, taskDelayMs: 100 })
  await tt.listen(0)
  t.teardown(() => tt.close())
  return tt
}

const valid = (tt: TikTokEmulator) => tt.subscriptions().filter((s) => s.valid)
const en = strings('en')
const ru = strings('ru')

// One Bitrix24 emulator for the three tests and one TikTok-configured app (with its TikTok
// emulator) for the first two, each test on a portal of its own; the third needs an app that is
// not configured for TikTok.
const emu = await startEmulator(t)
const tt = await startTikTok(t)
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
  'the kit TikTok screen: connect in a popup, pick an account, its forms, a form choice, read-only, disconnect',
  async (t) => {
    const shop = tt.addAdvertiser({ name: 'Sunrise Spa' })
    const other = tt.addAdvertiser({ name: 'Other Shop' })
    const spring = tt.addForm(shop.id, { title: 'Spring promo', fields: FIELDS })
    const summer = tt.addForm(shop.id, { title: 'Summer promo', fields: FIELDS })
    tt.addForm(other.id, { title: 'Other form', fields: FIELDS })

    const portal = await installedPortal(emu, appUrl)
    const host = await startFrameHost({ emulator: emu, portal, appUrl })
    t.teardown(() => host.close())

    const context = await launch(t)
    const errors: string[] = []
    const page = await context.newPage()
    watchErrors(page, errors, 'en/admin')
    context.on('page', (p) => {
      if (p !== page) watchErrors(p, errors, 'popup')
    })
    const frame = await openTab(page, `${host.url}?lang=en&user=1&width=1280`)
    await frame.getByRole('tab', { name: en.h_tiktok }).click()
    const screen = frame.locator('[data-testid="screen-tiktok"]')
    await screen.locator('[data-testid="tt-none"]').waitFor({ timeout: WAIT })
    t.equal(await text(frame, '#tt-h'), en.h_tiktok, 'the screen’s heading')
    t.equal(await screen.locator('[data-testid="tt-unconfigured"]').count(), 0, 'configured for TikTok')
    const connect = screen.getByRole('button', { name: en.tt_connect })
    t.ok(await connect.isEnabled(), 'an administrator can connect')

    // Connect: TikTok's auth page in a popup; approve there, it closes itself.
    const [popup] = await Promise.all([context.waitForEvent('page', { timeout: WAIT }), connect.click()])
    await popup.waitForURL((u) => u.href.startsWith(tt.authUrl), { timeout: WAIT })
    await popup.locator('#approve').waitFor({ timeout: WAIT })
    await Promise.all([popup.waitForEvent('close', { timeout: WAIT }), popup.locator('#approve').click()])
    t.pass('the popup closed itself after the callback')

    // The account picker.
    const picker = screen.locator('[data-testid="tt-grant"]')
    await picker.waitFor({ timeout: WAIT })
    t.match(await text(frame, '[data-testid="tt-result"]'), /\S/, 'the callback page’s message is shown')
    t.equal(await picker.locator('[data-testid="tt-account"]').count(), 2, 'both granted ad accounts are listed')
    const days = picker.getByLabel(en.tt_import_before!)
    t.equal(await days.inputValue(), '30', 'import defaults to 30 days')
    // Nothing ticked: said in plain words, nothing connected.
    await picker.getByRole('button', { name: en.tt_connect_selected }).click()
    await picker
      .locator('[data-testid="tt-grant-result"]')
      .filter({ hasText: en.tt_pick_one })
      .waitFor({ timeout: WAIT })
    await picker.getByRole('checkbox', { name: /Sunrise Spa/ }).check()
    await days.fill('0')
    await screenshot(page, frame, 'kit-tiktok-picker')
    await picker.getByRole('button', { name: en.tt_connect_selected }).click()

    // Connected: the account's card with its forms and their questions, one subscription at TikTok.
    const card = screen.locator(`[data-testid="tt-conn"][data-advertiser="${shop.id}"]`)
    await card.waitFor({ timeout: WAIT })
    await picker.waitFor({ state: 'detached', timeout: WAIT })
    t.equal(await text(frame, '[data-testid="tt-result"]'), en.tt_grant_done, 'connected, in plain words')
    t.equal(await screen.locator('[data-testid="tt-conn"]').count(), 1, 'only the picked account is connected')
    t.equal(await card.locator('[data-testid="tt-form"]').count(), 2, 'both of its forms are listed')
    const springRow = card.locator(`[data-testid="tt-form"][data-page="${spring.pageId}"]`)
    t.match(await springRow.textContent(), /Which service\?/, 'with their questions')
    t.ok(await card.getByRole('radio', { name: en.tt_forms_all }).isChecked(), 'all forms by default')
    t.ok(await card.getByRole('checkbox', { name: 'Summer promo' }).isDisabled(), 'no single pick while all forms')
    const subs1 = await waitFor('one subscription', () => (valid(tt).length === 1 ? valid(tt) : null))
    t.equal(subs1[0]?.advertiserId, shop.id, 'the subscription is for the picked account')
    t.match(subs1[0]?.callbackUrl, new RegExp(`^${appUrl}/tiktok/webhook/`), 'pointing at this portal’s webhook URL')
    const conns = await app.tiktok.ctx!.repo.listConnections(portal.memberId)
    t.same(
      conns.map((c) => c.advertiser_id),
      [shop.id],
      'the app stored the connection',
    )

    // Only these forms: untick Summer promo, save; TikTok's subscriptions follow.
    await card.getByRole('radio', { name: en.tt_forms_some }).check()
    await card.getByRole('checkbox', { name: 'Summer promo' }).uncheck()
    await card.getByRole('button', { name: en.tt_forms_save }).click()
    await card
      .locator(`[data-testid="tt-form"][data-page="${summer.pageId}"][data-selected="false"]`)
      .waitFor({ timeout: WAIT })
    t.equal(await text(frame, '[data-testid="tt-conn-result"]'), en.tt_forms_saved, 'saved, in plain words')
    const subs2 = await waitFor('a subscription for Spring promo only', () => {
      const v = valid(tt)
      return v.length === 1 && v[0]?.pageId === spring.pageId ? v : null
    })
    t.equal(subs2[0]?.pageId, spring.pageId, 'TikTok pushes only the selected form')
    t.ok(await card.getByRole('radio', { name: en.tt_forms_some }).isChecked(), 'the saved choice is shown')
    await screenshot(page, frame, 'kit-tiktok-connected')

    // A read-only user, in Russian, in a narrow slider: the same card, every changing control disabled.
    {
      const roErrors: string[] = []
      const ro = await context.newPage()
      watchErrors(ro, roErrors, 'ru/read-only')
      const roFrame = await openTab(ro, `${host.url}?lang=ru&user=2&width=620`)
      await roFrame.getByRole('tab', { name: ru.h_tiktok }).click()
      const roCard = roFrame.locator(`[data-testid="tt-conn"][data-advertiser="${shop.id}"]`)
      await roCard.waitFor({ timeout: WAIT })
      t.equal(await text(roFrame, '#tt-h'), ru.h_tiktok, 'ru: the heading in Russian')
      const roConnect = roFrame.getByRole('button', { name: ru.tt_connect })
      t.ok(await roConnect.isDisabled(), 'ru: Connect is disabled for a read-only user')
      t.equal(await roConnect.getAttribute('title'), ru.readonly_hint, 'and says why')
      t.ok(await roCard.getByRole('radio', { name: ru.tt_forms_some }).isChecked(), 'ru: the saved form choice')
      t.ok(await roCard.getByRole('radio', { name: ru.tt_forms_all }).isDisabled(), 'ru: the form choice is disabled')
      t.ok(await roCard.getByRole('checkbox', { name: 'Spring promo' }).isDisabled(), 'ru: form picks disabled')
      for (const name of [ru.tt_forms_save, ru.tt_check, ru.tt_import, ru.tt_disconnect])
        t.ok(await roCard.getByRole('button', { name, exact: true }).isDisabled(), `ru: “${name}” disabled`)
      t.ok(await roFrame.getByRole('button', { name: ru.refresh }).isEnabled(), 'ru: reading stays possible')
      await screenshot(ro, roFrame, 'kit-tiktok-ru-readonly')
      t.same(roErrors, [], 'ru: no script error or CSP violation')
      await ro.close()
    }

    // Disconnect, after confirming.
    const dialogs: string[] = []
    page.once('dialog', (d) => {
      dialogs.push(d.message())
      void d.accept()
    })
    await card.getByRole('button', { name: en.tt_disconnect, exact: true }).click()
    await screen.locator('[data-testid="tt-none"]').waitFor({ timeout: WAIT })
    t.match(dialogs[0], /Sunrise Spa/, 'Disconnect asked first')
    t.equal(
      await text(frame, '[data-testid="tt-result"]'),
      en.tt_disconnected!.replace('{name}', 'Sunrise Spa'),
      'disconnected, in plain words',
    )
    await waitFor('no subscription left', () => valid(tt).length === 0)
    t.same(valid(tt), [], 'TikTok has no subscription left')
    t.same(errors, [], 'no script error or CSP violation in the tab or the popup')
  },
)

t.test('the kit TikTok screen with the popup blocked offers a link to TikTok', async (t) => {
  tt.addAdvertiser({ name: 'Sunrise Spa' })
  const portal = await installedPortal(emu, appUrl)
  const host = await startFrameHost({ emulator: emu, portal, appUrl })
  t.teardown(() => host.close())
  const context = await launch(t)
  await context.addInitScript((origin) => {
    if (location.origin === origin) window.open = () => null
  }, new URL(appUrl).origin)
  const page = await context.newPage()
  const errors: string[] = []
  watchErrors(page, errors, 'tab')
  const frame = await openTab(page, `${host.url}?lang=en&user=1&width=620`)
  await frame.getByRole('tab', { name: en.h_tiktok }).click()
  await frame.locator('[data-testid="tt-none"]').waitFor({ timeout: WAIT })
  await frame.getByRole('button', { name: en.tt_connect }).click()
  const link = frame.getByRole('link', { name: en.tt_open_link })
  await link.waitFor({ timeout: WAIT })
  t.ok((await link.getAttribute('href'))?.startsWith(tt.authUrl), 'the link goes to TikTok’s auth page')
  t.equal(await link.getAttribute('target'), '_blank', 'in a new window')
  t.same(errors, [], 'no script error or CSP violation')
})

t.test('the kit TikTok screen says when the server is not configured for TikTok', async (t) => {
  const { url: appUrl } = await startApp(t, { emu })
  const portal = await installedPortal(emu, appUrl)
  const host = await startFrameHost({ emulator: emu, portal, appUrl })
  t.teardown(() => host.close())
  const context = await launch(t)
  const page = await context.newPage()
  const errors: string[] = []
  watchErrors(page, errors, 'tab')
  const frame = await openTab(page, `${host.url}?lang=vn&user=1`)
  await frame.getByRole('tab', { name: strings('vn').h_tiktok }).click()
  const problems = frame.locator('[data-testid="tt-problems"], [data-testid="tt-unconfigured"]')
  await problems.first().waitFor({ timeout: WAIT })
  t.match(await problems.first().textContent(), /\S/, 'vn: the reason in plain words')
  t.equal(await frame.getByRole('button', { name: strings('vn').tt_connect }).count(), 0, 'vn: no Connect button')
  await screenshot(page, frame, 'kit-tiktok-vn-unconfigured')
  t.same(errors, [], 'no script error or CSP violation')
})
