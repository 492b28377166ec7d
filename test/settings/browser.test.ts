/**
 * The settings tab in a real browser (Debian chromium through playwright-core), framed by an
 * emulated Bitrix24 page that answers b24jssdk's frame protocol (test/emulator/frame-host.ts):
 * the page fits its frame and sets the slider title through the SDK, a mapping is changed and
 * saved, a test lead goes through the whole pipeline to the emulated portal and shows up as
 * delivered in the log, and its Bitrix24 link opens in a Bitrix24 slider. A read-only user sees
 * the same page with the changing controls disabled.
 *
 * Screenshots go to test-output/ (gitignored): settings.png (administrator, slider width),
 * settings-wide.png (full tab width) and settings-readonly-ru.png (a non-admin, Russian, narrow
 * slider).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startFrameHost } from '../emulator/index.js'
import { installedPortal, startApp, startEmulator } from '../helpers.js'
import { commands, launch, openTab, OUT, text, waitForCommand, watchErrors } from './browser-harness.js'

t.test(
  'the settings tab in an emulated Bitrix24 frame: change the mapping, save, send a test lead, see it delivered',
  async (t) => {
    const emu = await startEmulator(t)
    const { url: appUrl, app } = await startApp(t, { emu })
    const portal = await installedPortal(emu, appUrl)
    portal.addUserField({
      FIELD_NAME: 'UF_CRM_TIKTOK_CAMPAIGN',
      USER_TYPE_ID: 'string',
      EDIT_FORM_LABEL: 'TikTok campaign',
    })
    portal.addUserField({
      FIELD_NAME: 'UF_CRM_INTEREST',
      USER_TYPE_ID: 'enumeration',
      LIST: [{ VALUE: 'A demo' }, { VALUE: 'Pricing' }],
      EDIT_FORM_LABEL: 'Interest',
    })
    const host = await startFrameHost({ emulator: emu, portal, appUrl })
    t.teardown(() => host.close())

    const context = await launch(t)
    const page = await context.newPage()
    const pageErrors: string[] = []
    const consoleLines: string[] = []
    const requestUrls: string[] = []
    watchErrors(page, pageErrors, 'tab')
    page.on('console', (msg) => consoleLines.push(msg.text()))
    page.on('request', (req) => requestUrls.push(req.url()))
    const frame = await openTab(page, host.url)

    // The SDK handshake: init data, then the title and the frame's height.
    await frame.locator('#st-domain').waitFor({ timeout: 15_000 })
    await waitForCommand(page, 'getInitData')
    await waitForCommand(page, 'setTitle')
    await waitForCommand(page, 'resizeWindow')
    t.equal(
      await page.locator('#b24-title').textContent(),
      'TikTok Leads: settings and delivery log',
      'the slider title was set through the SDK',
    )
    const sent = await commands(page)
    const resize = sent.find((c) => c.command === 'resizeWindow')?.params as { height?: number } | undefined
    t.ok(resize && Number(resize.height) > 600, `the app asked for its content height (${resize?.height}px)`)
    const frameHeight = await page.locator('#b24-app-frame').evaluate((f) => f.getBoundingClientRect().height)
    t.ok(frameHeight > 600, `the host fitted the frame to it (${frameHeight}px)`)
    t.equal(await text(frame, '#user-role'), 'administrator')
    t.equal(await frame.locator('#ro-notice').count(), 0, 'an administrator gets no read-only notice')

    // Fields load from the portal; add a rule: campaign name → the custom string field.
    await frame.locator('#fields-status').waitFor({ state: 'hidden', timeout: 10_000 })
    await frame.getByRole('button', { name: 'Add rule' }).click()
    await frame.getByLabel('TikTok field').last().selectOption('meta.campaign_name')
    await frame.getByLabel('Bitrix24 lead field').last().selectOption('UF_CRM_TIKTOK_CAMPAIGN')
    // The responsible person, picked with Bitrix24's own user dialog (b24.dialog.selectUser()).
    await frame.getByRole('button', { name: 'Choose in Bitrix24…' }).click()
    await page.getByRole('button', { name: 'Oleg Manager (#2)' }).click()
    await waitForCommand(page, 'selectUser')
    t.equal(await frame.getByLabel('Responsible person').inputValue(), '2', 'the picked user is the responsible person')
    t.ok(await frame.locator('#mapping-dirty').isVisible(), 'unsaved changes are flagged')

    // The preview shows the field (no lead yet, so the "no lead" line), then save.
    await frame.getByRole('button', { name: 'Save mapping' }).click()
    await frame.locator('#mapping-result.line--ok').waitFor({ timeout: 10_000 })
    t.equal(await text(frame, '#mapping-result'), 'Mapping saved.')
    t.notOk(await frame.locator('#mapping-dirty').isVisible(), 'no unsaved changes after saving')
    const conf = await app.settings.find(portal.memberId)
    t.match(
      JSON.parse(conf!.mapping_json),
      { rules: [{ source: 'meta.campaign_name', target: 'UF_CRM_TIKTOK_CAMPAIGN' }], constants: { ASSIGNED_BY_ID: 2 } },
      'the mapping is stored',
    )

    // An invalid mapping is refused with the server's explanation.
    await frame.getByRole('button', { name: 'Add rule' }).click()
    await frame.getByLabel('TikTok field').last().selectOption('meta.ad_name')
    await frame.getByRole('button', { name: 'Save mapping' }).click()
    await frame.locator('#mapping-result.line--error').waitFor({ timeout: 5_000 })
    t.match(await text(frame, '#mapping-result'), /Rule 2/, 'an incomplete rule is explained before anything is sent')
    await frame.getByRole('button', { name: 'Remove rule 2' }).click()

    // Send a test lead and watch it arrive.
    await frame.getByRole('button', { name: 'Send test lead' }).click()
    await frame.locator('#test-lead-result.line--ok').waitFor({ timeout: 20_000 })
    t.match(await text(frame, '#test-lead-result'), /Test lead delivered in .*: Bitrix24 lead #\d+/)
    const row = frame.locator('#log-body tr[data-status="delivered"]').first()
    await row.waitFor({ timeout: 10_000 })
    t.match(await row.textContent(), /Test Lead/, 'the delivered lead is in the log')
    const b24 = [...portal.leads.values()][0]
    t.ok(b24, 'the portal has the lead')
    t.equal(b24?.['UF_CRM_TIKTOK_CAMPAIGN'], 'Test campaign', 'the new rule filled the custom field')
    t.equal(Number(b24?.['ASSIGNED_BY_ID']), 2, 'the responsible person constant applied')

    // Counters and the chart follow.
    await frame.locator('#counters-today [data-k="delivered"]').filter({ hasText: '1' }).waitFor({ timeout: 10_000 })
    t.equal(await frame.locator('#chart-svg svg rect.bar--delivered').count(), 1, 'one delivered bar in the chart')

    // The preview now shows what the latest lead becomes.
    await frame.locator('#preview-table tr[data-field="UF_CRM_TIKTOK_CAMPAIGN"]').waitFor({ timeout: 10_000 })

    // The Bitrix24 link opens the lead card in a Bitrix24 slider, through the SDK.
    await row.getByRole('link').click()
    await waitForCommand(page, 'openPath')
    const open = (await commands(page)).find((c) => c.command === 'openPath')?.params as { path?: string }
    t.match(open?.path, new RegExp(`/crm/lead/details/${b24?.['ID']}/\\?IFRAME=Y`), 'openPath names the lead card')
    await page.frameLocator('#b24-inner-frame').locator('#lead-title').waitFor({ timeout: 5_000 })
    await page.locator('#b24-inner-close').click()

    // The log filter.
    await frame.getByLabel('Show').selectOption('failed')
    await frame.locator('#log-body td.muted').filter({ hasText: 'No leads yet.' }).waitFor({ timeout: 5_000 })
    await frame.getByLabel('Show').selectOption('')
    await row.waitFor({ timeout: 5_000 })

    // Reveal the secret (only after asking), and hide it again.
    const masked = await frame.locator('#secret').inputValue()
    t.match(masked, /•/, 'the secret starts masked')
    await frame.getByRole('button', { name: 'Reveal' }).click()
    await frame.getByRole('button', { name: 'Hide' }).waitFor()
    t.equal(await frame.locator('#secret').inputValue(), conf!.signing_secret, 'reveal shows the secret')
    await frame.getByRole('button', { name: 'Hide' }).click()
    t.equal(await frame.locator('#secret').inputValue(), masked)

    t.equal(await text(frame, '#mapping-result'), '', 'the stale error went away with the rule it was about')

    mkdirSync(OUT, { recursive: true })
    await page.waitForTimeout(300)
    await page.screenshot({ path: join(OUT, 'settings.png'), fullPage: true })

    // At full tab width (the app's own page) the panels sit side by side.
    const wide = await context.newPage()
    wide.on('pageerror', (err) => pageErrors.push(`wide: ${err.message}`))
    await wide.setViewportSize({ width: 1620, height: 900 })
    const wideFrame = await openTab(wide, `${host.url}?width=1300`)
    await wideFrame.locator('#log-body tr[data-status="delivered"]').waitFor({ timeout: 15_000 })
    await wideFrame.locator('#preview-table').waitFor({ timeout: 10_000 })
    await wide.waitForTimeout(300)
    await wide.screenshot({ path: join(OUT, 'settings-wide.png'), fullPage: true })
    t.same(pageErrors, [], 'no script errors in the page or the frame')

    // No credential ever travels in a URL or reaches the console.
    const boot = JSON.parse((await frame.locator('#boot').textContent()) ?? '{}') as { session: string; csrf: string }
    t.ok(boot.session && boot.csrf, 'the page carries its session and CSRF token')
    for (const secret of [boot.session, boot.csrf, conf!.signing_secret]) {
      t.notOk(
        requestUrls.some((u) => u.includes(secret)),
        'no request URL carries a session, CSRF token or secret',
      )
      t.notOk(
        consoleLines.some((l) => l.includes(secret)),
        'the console shows none of them',
      )
    }
  },
)

t.test(
  'a non-administrator sees everything, with the changing controls disabled (Russian, narrow slider)',
  async (t) => {
    const emu = await startEmulator(t)
    const { url: appUrl } = await startApp(t, { emu })
    const portal = await installedPortal(emu, appUrl, { lang: 'ru' })
    const host = await startFrameHost({ emulator: emu, portal, appUrl, userId: 2, width: 620 })
    t.teardown(() => host.close())

    const context = await launch(t)
    const page = await context.newPage()
    await page.setViewportSize({ width: 1000, height: 900 })
    const frame = await openTab(page, host.url)
    await frame.locator('#ro-notice').waitFor({ timeout: 15_000 })
    t.equal(await text(frame, '#h-status'), 'Состояние', 'the page is in the portal language')
    t.match(await text(frame, '#ro-notice'), /Изменять настройки могут только администраторы портала/)
    for (const id of [
      '#test-lead-btn',
      '#mapping-save',
      '#options-save',
      '#secret-reveal',
      '#secret-rotate',
      '#rule-add',
      '#log-resend-all',
      '#opt-dedup',
    ]) {
      t.ok(await frame.locator(id).isDisabled(), `${id} is disabled`)
    }
    t.equal(
      await frame.locator('#mapping-save').getAttribute('title'),
      'Изменять настройки могут только администраторы портала',
      'and says why',
    )
    t.ok(await frame.locator('#log-refresh').isEnabled(), 'reading stays possible')
    await waitForCommand(page, 'resizeWindow')
    await frame.locator('#fields-status').waitFor({ state: 'hidden', timeout: 10_000 })
    mkdirSync(OUT, { recursive: true })
    await page.screenshot({ path: join(OUT, 'settings-readonly-ru.png'), fullPage: true })
  },
)
