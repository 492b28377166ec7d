/**
 * The kit tab's delivery options screen and its webhook URL / signing secret widget (src/web/,
 * issue 12) in real chromium, framed by the emulated Bitrix24 page: options saved
 * into the app's repositories (and the portal's request rate), the secret revealed as stored, the
 * webhook URL rotated with the old one still accepting leads, the secret rotated; the speed-to-lead
 * options (notify the responsible person, the to-do and its reminders, the no-lead alert) saved,
 * reminders typed wrong refused in plain words; the overview's median time to first contact; a
 * read-only user sees every control disabled and no value. Each case fails on any script error or CSP violation
 * and saves a screenshot to test-output/kit-options-*.png.
 */
import type { FrameLocator } from 'playwright-core'
import t from 'tap'
import { STRINGS } from '../../src/settings/i18n.js'
import { startFrameHost } from '../emulator/index.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { installedPortal, startApp, startEmulator, waitFor } from '../helpers.js'
import { launch, openTab, screenshot, text, watchErrors } from './browser-harness.js'

const WAIT = 15_000

/** Opens a kit select and picks the option whose visible name matches. */
async function pick(frame: FrameLocator, testid: string, name: string | RegExp): Promise<void> {
  await frame.locator(`[data-testid="${testid}"]`).click()
  const option = frame.getByRole('option', { name, exact: typeof name === 'string' })
  await option.waitFor({ timeout: WAIT })
  await option.click()
  await frame.getByRole('listbox').waitFor({ state: 'detached', timeout: WAIT })
}

/**
 * Picks an option with the keyboard only (focus, Enter opens, arrows move, Enter chooses): how a
 * keyboard user works the select, and it does not depend on the list fitting in a narrow frame.
 */
async function pickByKeyboard(frame: FrameLocator, testid: string, name: string): Promise<void> {
  const trigger = frame.locator(`[data-testid="${testid}"]`)
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

/** The key at the end of a webhook URL (…/tiktok/webhook/KEY). */
const keyOf = (url: string) => url.split('/').pop() ?? ''

t.test('the kit options screen: options saved, secret revealed, URL and secret rotated, read-only', async (t) => {
  const emu = await startEmulator(t)
  const { url: appUrl, app, database } = await startApp(t, { emu })
  const portal = await installedPortal(emu, appUrl)
  const m = portal.memberId
  const before = (await app.settings.find(m))!
  const host = await startFrameHost({ emulator: emu, portal, appUrl })
  t.teardown(() => host.close())
  const context = await launch(t)

  async function open(lang: 'en' | 'ru' | 'vn', user: 1 | 2, width: number) {
    const words = STRINGS[lang]
    const page = await context.newPage()
    const errors: string[] = []
    watchErrors(page, errors, `${lang}/${user}/${width}`)
    const frame = await openTab(page, `${host.url}?lang=${lang}&user=${user}&width=${width}`)
    await frame.getByRole('tab', { name: words.h_options }).click()
    await frame.locator('[data-testid="screen-options"]').waitFor({ timeout: WAIT })
    t.equal(await text(frame, '#options-h'), words.h_options, `${lang}: the screen's heading in its language`)
    return { words, page, errors, frame }
  }

  await t.test('an administrator in English, full width: save, reveal, rotate', async (t) => {
    const { words, page, errors, frame } = await open('en', 1, 1280)
    t.equal(
      await frame.locator('[data-testid="webhook-url"]').inputValue(),
      `${appUrl}/tiktok/webhook/${before.webhook_key}`,
      'the webhook URL as stored',
    )
    t.not(await frame.locator('[data-testid="secret"]').inputValue(), before.signing_secret, 'the secret masked')

    await pick(frame, 'opt-dedup', words.dedup_skip)
    await pick(frame, 'opt-rate', words.rate_5)
    await pick(frame, 'opt-country', /\(RU\)$/)
    await pick(frame, 'opt-name-order', words.name_order_family_first)
    await pick(frame, 'opt-verify', words.verify_enforce)
    await pick(frame, 'opt-retention', words.retention_days.replace('{n}', '90'))
    // Speed to lead: the reminders stay disabled until a to-do is chosen.
    t.ok(await frame.locator('[data-testid="opt-pings"]').isDisabled(), 'no to-do: no reminders to set')
    await frame.locator('[data-testid="opt-notify"]').click()
    // Low in the frame: picked by keyboard, which does not need the list inside the viewport.
    await pickByKeyboard(frame, 'opt-todo', words.todo_minutes_n.replace('{n}', '15'))
    await pickByKeyboard(frame, 'opt-silence', words.silence_hours_n.replace('{n}', '4'))
    t.equal(await frame.locator('[data-testid="opt-pings"]').inputValue(), '0, 15', 'the default reminders shown')
    await frame.locator('[data-testid="opt-pings"]').fill('10, 10')
    await frame.locator('[data-testid="options-save"]').click()
    await frame.getByText(words.pings_invalid).waitFor({ timeout: WAIT })
    t.match((await app.settings.find(m))!, { dedup_policy: 'off', todo_minutes: null }, 'refused: nothing stored')
    await frame.locator('[data-testid="opt-pings"]').fill('30, 0')
    await frame.locator('[data-testid="options-save"]').click()
    await frame.getByText(words.options_saved).waitFor({ timeout: WAIT })
    t.equal(await frame.locator('[data-testid="opt-pings"]').inputValue(), '0, 30', 'the stored reminders, sorted')
    const saved = (await app.settings.find(m))!
    t.match(
      saved,
      { notify_responsible: 1, todo_minutes: 15, todo_pings: '[0,30]', alert_silence_hours: 4 },
      'the speed-to-lead options stored',
    )
    t.match(
      saved,
      {
        dedup_policy: 'skip',
        rate_per_s: 5,
        default_country: 'RU',
        name_order: 'family_first',
        verify_mode: 'enforce',
        retention_days: 90,
      },
      'the options stored',
    )
    t.equal(app.portalRates.get(m), 5, "the portal's request rate changed now")

    await frame.locator('[data-testid="secret-reveal"]').click()
    await waitFor(
      'the secret revealed',
      async () => (await frame.locator('[data-testid="secret"]').inputValue()) === before.signing_secret,
    )
    t.equal(await text(frame, '[data-testid="secret-reveal"]'), words.hide, 'the button now hides it')
    t.equal(await frame.locator('[data-testid="secret-reveal"]').getAttribute('aria-pressed'), 'true', 'pressed')

    // Rotate the URL: a confirmation first; cancelling changes nothing.
    await frame.locator('[data-testid="url-rotate"]').click()
    await frame.getByText(words.url_rotate_confirm).waitFor({ timeout: WAIT })
    await frame.locator('[data-testid="url-rotate-cancel"]').click()
    await frame.getByText(words.url_rotate_confirm).waitFor({ state: 'detached', timeout: WAIT })
    t.equal((await app.settings.find(m))!.webhook_key, before.webhook_key, 'cancelled: the URL unchanged')
    await frame.locator('[data-testid="url-rotate"]').click()
    await frame.locator('[data-testid="url-rotate-do"]').click()
    await frame.locator('[data-testid="url-previous"]').waitFor({ timeout: WAIT })
    const rotated = (await app.settings.find(m))!
    t.not(rotated.webhook_key, before.webhook_key, 'a new webhook key stored')
    const shown = await frame.locator('[data-testid="webhook-url"]').inputValue()
    t.equal(keyOf(shown), rotated.webhook_key, 'the new URL shown')
    t.match(await text(frame, '[data-testid="connection-result"]'), 'New webhook URL created', 'said in plain words')
    t.match(await text(frame, '[data-testid="url-previous"]'), 'The previous URL keeps working until', 'the grace')
    // Distinct people: dedup is now "skip", so the same phone twice would be a duplicate.
    for (const [i, key] of [before.webhook_key, rotated.webhook_key].entries()) {
      const lead = sampleLead({ phone: `091234560${i}`, email: `rotate${i}@example.com` })
      const res = await postWebhook(appUrl, key, notificationBody([lead]), { secret: before.signing_secret })
      t.equal(res.status, 200, key === before.webhook_key ? 'the old URL still accepts a lead' : 'the new URL too')
    }
    await waitFor('both leads delivered', async () => (await app.leads.counts(m)).delivered === 2)

    // Rotate the secret: the revealed field follows.
    await frame.locator('[data-testid="secret-rotate"]').click()
    await frame.getByText(words.rotate_confirm).waitFor({ timeout: WAIT })
    await frame.locator('[data-testid="secret-rotate-do"]').click()
    await waitFor(
      'the secret rotated',
      async () => (await app.settings.find(m))!.signing_secret !== before.signing_secret,
    )
    const secret = (await app.settings.find(m))!.signing_secret
    await waitFor(
      'the new secret shown',
      async () => (await frame.locator('[data-testid="secret"]').inputValue()) === secret,
    )
    t.match(await text(frame, '[data-testid="connection-result"]'), 'New secret created', 'said in plain words')

    await screenshot(page, frame, 'kit-options-en-admin')
    t.same(errors, [], 'no script error or CSP violation')
    await page.close()
  })

  await t.test('an administrator in Russian, narrow slider: save shows the stored options', async (t) => {
    // The two delivered leads were first worked 2 and 4 minutes after delivery: the median is 3.
    const rows = await database.db.selectFrom('leads').selectAll().where('member_id', '=', m).orderBy('id').execute()
    for (const [i, row] of rows.entries())
      await database.db
        .updateTable('leads')
        .set({ first_contact_at: row.done_at! + (i + 1) * 120_000 })
        .where('id', '=', row.id)
        .execute()
    const { words, page, errors, frame } = await open('ru', 1, 620)
    t.equal(await text(frame, '[data-testid="opt-rate"]'), words.rate_5, 'the saved rate shown')
    t.equal(await text(frame, '[data-testid="opt-todo"]'), words.todo_minutes_n.replace('{n}', '15'), 'the to-do')
    t.equal(await text(frame, '[data-testid="opt-silence"]'), words.silence_hours_n.replace('{n}', '4'))
    t.equal(await frame.locator('[data-testid="opt-notify"]').getAttribute('aria-checked'), 'true', 'notify on')
    await frame.getByRole('tab', { name: words.h_status }).click()
    const median = frame.locator('[data-testid="counters-today"] [data-k="first-contact"]')
    await median.waitFor({ timeout: WAIT })
    t.equal(
      (await median.textContent())?.trim(),
      words.unit_min.replace('{n}', '3'),
      'the median time to first contact',
    )
    await frame.getByRole('tab', { name: words.h_options }).click()
    await pickByKeyboard(frame, 'opt-rate', words.rate_2)
    await pickByKeyboard(frame, 'opt-retention', words.retention_keep)
    await frame.locator('[data-testid="options-save"]').click()
    await frame.getByText(words.options_saved).waitFor({ timeout: WAIT })
    t.match((await app.settings.find(m))!, { rate_per_s: 2, retention_days: 0, dedup_policy: 'skip' }, 'stored')
    t.equal(app.portalRates.get(m), 2, 'the rate back to 2 per second')
    await screenshot(page, frame, 'kit-options-ru-admin')
    t.same(errors, [], 'no script error or CSP violation')
    await page.close()
  })

  for (const [lang, width] of [
    ['ru', 620],
    ['en', 940],
  ] as const) {
    await t.test(`a read-only user in ${lang}: every control disabled, no value shown`, async (t) => {
      const { words, page, errors, frame } = await open(lang, 2, width)
      const conf = (await app.settings.find(m))!
      for (const id of [
        'opt-dedup',
        'opt-rate',
        'opt-country',
        'opt-name-order',
        'opt-verify',
        'opt-retention',
        'opt-notify',
        'opt-todo',
        'opt-pings',
        'opt-silence',
        'options-save',
        'url-rotate',
        'secret-reveal',
        'secret-rotate',
      ])
        t.ok(await frame.locator(`[data-testid="${id}"]`).isDisabled(), `${lang}: ${id} disabled`)
      t.equal(await frame.locator('[data-testid="secret"]').inputValue(), words.webhook_admin_only, 'no secret')
      t.equal(await frame.locator('[data-testid="webhook-url"]').inputValue(), words.webhook_admin_only, 'no URL')
      t.equal(await frame.locator('[data-testid="webhook-copy"]').count(), 0, 'nothing to copy')
      const html = await frame.locator('html').innerHTML()
      t.notOk(html.includes(conf.signing_secret), 'the secret is nowhere in the page')
      t.notOk(html.includes(conf.webhook_key), 'nor the webhook key')
      t.equal(await text(frame, '[data-testid="options-readonly"]'), words.readonly_hint, 'why, in plain words')
      await screenshot(page, frame, `kit-options-${lang}-readonly`)
      t.same(errors, [], 'no script error or CSP violation')
      await page.close()
    })
  }
})
