/**
 * The kit tab's delivery log (src/web/screens/LogScreen.vue) in real chromium,
 * framed by the emulated Bitrix24 page: a test lead sent from the screen and watched until
 * delivered, a lead Bitrix24 refuses (an injected command error) shown with its error and re-sent,
 * the row's record in a slide-over, the lead card opened in a Bitrix24 slider, the status filter;
 * then a read-only user in ru in a narrow slider and vn at full width. Each page fails on any
 * script error or CSP violation and saves a screenshot to test-output/kit-log-*.png.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { FrameLocator, Page } from 'playwright-core'
import t from 'tap'
import { strings } from '../../src/settings/i18n.js'
import { startFrameHost } from '../emulator/index.js'
import { installedPortal, startApp, startEmulator, waitFor } from '../helpers.js'
import { commands, launch, OUT, openTab, text, waitForCommand, watchErrors } from './browser-harness.js'

const WAIT = 20_000

function row(frame: FrameLocator, id: number) {
  return frame.locator('[data-testid="log-table"] tbody tr').filter({ has: frame.locator(`[data-lead-id="${id}"]`) })
}

async function openLog(page: Page, url: string, lang: 'en' | 'ru' | 'vn'): Promise<FrameLocator> {
  const frame = await openTab(page, url)
  await frame.getByRole('tab', { name: strings(lang).h_log }).click()
  await frame.locator('[data-testid="screen-log"]').waitFor({ timeout: WAIT })
  return frame
}

t.test(
  'the kit delivery log: test lead, a refused lead re-sent, details, the lead card, filter; read-only',
  async (t) => {
    const emu = await startEmulator(t)
    const { url: appUrl, app } = await startApp(t, { emu })
    const portal = await installedPortal(emu, appUrl)
    const m = portal.memberId
    // Every test lead carries the same phone and e-mail: without this the second is a duplicate.
    await app.settings.update(m, { dedup_policy: 'off' })
    const host = await startFrameHost({ emulator: emu, portal, appUrl })
    t.teardown(() => host.close())
    const context = await launch(t)
    mkdirSync(OUT, { recursive: true })
    const en = strings('en')

    // ---- an administrator, en, the default slider width
    const page = await context.newPage()
    const errors: string[] = []
    watchErrors(page, errors, 'en/1')
    const frame = await openLog(page, `${host.url}?lang=en&user=1&width=940`, 'en')
    await frame.locator('[data-testid="log-table"]').getByText(en.log_empty!).waitFor({ timeout: WAIT })
    t.pass('an empty log says so')
    t.equal(
      await frame.locator('[data-testid="log-refresh"] svg').count(),
      1,
      "Refresh carries Bitrix24's own icon (@bitrix24/b24icons-vue)",
    )

    // A test lead, watched until Bitrix24 has it.
    await frame.getByRole('button', { name: en.test_btn }).click()
    await frame.locator('[data-testid="test-lead-result"][data-kind="ok"]').waitFor({ timeout: WAIT })
    t.match(
      await text(frame, '[data-testid="test-lead-result"]'),
      /Test lead delivered in .*: Bitrix24 lead #\d+/,
      'the test lead is reported delivered',
    )
    const first = (await app.leads.latest(m, { limit: 5 }))[0]!
    t.equal(first.status, 'delivered', 'the app delivered it')
    t.equal(portal.leads.size, 1, 'Bitrix24 has it')
    const b24 = [...portal.leads.values()][0]!
    const firstRow = row(frame, first.id)
    await firstRow.locator('[data-status="delivered"]').waitFor({ timeout: WAIT })
    t.match(await firstRow.textContent(), /Test Lead/, 'an administrator sees the name')
    t.match(await firstRow.textContent(), new RegExp(`Lead #${b24['ID']}`), 'the Bitrix24 lead is linked')

    // Bitrix24 refuses the next one: it fails, with Bitrix24's words.
    emu.faults.failCommands(1, 'ERROR_ARGUMENT', { method: 'crm.lead.add', memberId: m })
    await frame.getByRole('button', { name: en.test_btn }).click()
    await frame.locator('[data-testid="test-lead-result"][data-kind="error"]').waitFor({ timeout: WAIT })
    t.match(
      await text(frame, '[data-testid="test-lead-result"]'),
      /could not be delivered: ERROR_ARGUMENT: Injected command error/,
      'the test lead is reported failed, with the reason',
    )
    const failed = (await app.leads.latest(m, { status: 'failed', limit: 5 }))[0]!
    t.ok(failed, 'the app recorded the failure')
    t.equal(portal.leads.size, 1, 'Bitrix24 did not create it')
    const failedRow = row(frame, failed.id)
    await failedRow.locator('[data-status="failed"]').waitFor({ timeout: WAIT })
    t.equal(
      (await failedRow.locator('[data-testid="lead-error"]').textContent())?.replace(/\s+/g, ' ').trim(),
      'Injected command error ERROR_ARGUMENT',
      "Bitrix24's error in words, its code apart",
    )
    t.match(await failedRow.textContent(), en.status_failed, 'the status in words')
    await page.screenshot({ path: join(OUT, 'kit-log-en-failed.png'), fullPage: true })

    // The filter shows only the failed lead, then everything again.
    await frame.getByRole('combobox', { name: en.log_filter }).click()
    await frame.getByRole('option', { name: en.status_failed }).click()
    await waitFor('only the failed lead shown', async () => (await frame.locator('[data-lead-id]').count()) === 1)
    t.equal(await frame.locator('[data-lead-id]').getAttribute('data-status'), 'failed', 'the filter applies')
    await frame.getByRole('combobox', { name: en.log_filter }).click()
    await frame.getByRole('option', { name: en.log_all }).click()
    await waitFor('both leads shown', async () => (await frame.locator('[data-lead-id]').count()) === 2)

    // Re-sent once the fault is gone: delivered.
    emu.faults.clear()
    await failedRow.getByRole('button', { name: en.log_resend_label!.replace('{id}', failed.tiktok_lead_id) }).click()
    await frame.locator('[data-testid="log-result"][data-kind="ok"]').waitFor({ timeout: WAIT })
    t.equal(await text(frame, '[data-testid="log-result"]'), en.log_resent!.replace('{n}', '1'), 'one lead re-queued')
    await failedRow.locator('[data-status="delivered"]').waitFor({ timeout: WAIT })
    t.equal((await app.leads.findByTikTokId(m, failed.tiktok_lead_id))!.status, 'delivered', 'the app delivered it')
    t.equal(portal.leads.size, 2, 'Bitrix24 has it now')
    t.equal(await failedRow.locator('[data-testid="lead-error"]').count(), 0, 'no error shown once delivered')

    // The row's record in a slide-over.
    await failedRow.getByRole('button', { name: `${en.group_meta}: ${failed.tiktok_lead_id}` }).click()
    const json = frame.locator('[data-testid="lead-json"]')
    await json.waitFor({ timeout: WAIT })
    const record = JSON.parse((await json.textContent()) ?? '{}') as Record<string, unknown>
    t.equal(record['tiktokLeadId'], failed.tiktok_lead_id, 'the record of that lead')
    t.equal(record['status'], 'delivered', 'as it is now')
    await page.screenshot({ path: join(OUT, 'kit-log-en-details.png'), fullPage: true })
    await page.keyboard.press('Escape')
    await json.waitFor({ state: 'detached', timeout: WAIT })

    // The Bitrix24 link opens the lead card in a Bitrix24 slider.
    await firstRow.locator('[data-testid="lead-link"]').click()
    await waitForCommand(page, 'openPath')
    const open = (await commands(page)).find((c) => c.command === 'openPath')?.params as { path?: string }
    t.match(open?.path, new RegExp(`/crm/lead/details/${b24['ID']}/`), 'openPath names the lead card')
    await page.frameLocator('#b24-inner-frame').locator('#lead-title').waitFor({ timeout: WAIT })
    await page.locator('#b24-inner-close').click()
    t.equal(await frame.locator('[data-testid="log-auto"]').count(), 0, 'nothing pending: no automatic refresh shown')
    await page.screenshot({ path: join(OUT, 'kit-log-en.png'), fullPage: true })
    t.same(errors, [], 'en: no script error or CSP violation')

    // One more refused lead, for the read-only user to see.
    emu.faults.failCommands(1, 'ERROR_ARGUMENT', { method: 'crm.lead.add', memberId: m })
    await frame.getByRole('button', { name: en.test_btn }).click()
    await frame.locator('[data-testid="test-lead-result"][data-kind="error"]').waitFor({ timeout: WAIT })
    await page.close()
    const refused = (await app.leads.latest(m, { status: 'failed', limit: 5 }))[0]!

    // ---- a read-only user, ru, a narrow slider: sees the log, changes nothing
    const ru = strings('ru')
    const roPage = await context.newPage()
    const roErrors: string[] = []
    watchErrors(roPage, roErrors, 'ru/2')
    const ro = await openLog(roPage, `${host.url}?lang=ru&user=2&width=620`, 'ru')
    const roRow = row(ro, refused.id)
    await roRow.locator('[data-status="failed"]').waitFor({ timeout: WAIT })
    t.equal(await ro.locator('[data-lead-id]').count(), 3, 'ru: every lead listed')
    t.notMatch(await ro.locator('[data-testid="log-table"]').textContent(), /Test Lead/, 'ru: names masked')
    t.equal(await ro.locator('[data-testid="log-table"] th').count(), 4, 'ru, narrow: four columns')
    t.ok(await roRow.locator('[data-testid="lead-when"] time').isVisible(), 'ru, narrow: the time under the lead')
    t.match(await roRow.textContent(), ru.status_failed!, 'ru: the status in words')
    t.ok(await ro.getByRole('button', { name: ru.test_btn }).isDisabled(), 'ru: no test lead for a read-only user')
    t.ok(await ro.getByRole('button', { name: ru.log_resend_all }).isDisabled(), 'ru: no re-send of all')
    t.ok(
      await roRow
        .getByRole('button', { name: ru.log_resend_label!.replace('{id}', refused.tiktok_lead_id) })
        .isDisabled(),
      'ru: no re-send of one',
    )
    await ro.getByRole('tab', { name: ru.h_log }).waitFor()
    await roPage.screenshot({ path: join(OUT, 'kit-log-ru-readonly.png'), fullPage: true })
    t.equal((await app.leads.findByTikTokId(m, refused.tiktok_lead_id))!.status, 'failed', 'ru: still failed')
    t.same(roErrors, [], 'ru: no script error or CSP violation')
    await roPage.close()

    // ---- vn, an administrator at full width: the same log in its words
    const vn = strings('vn')
    const vnPage = await context.newPage()
    const vnErrors: string[] = []
    watchErrors(vnPage, vnErrors, 'vn/1')
    const vf = await openLog(vnPage, `${host.url}?lang=vn&user=1&width=1280`, 'vn')
    await row(vf, refused.id).locator('[data-status="failed"]').waitFor({ timeout: WAIT })
    t.match(await row(vf, first.id).textContent(), vn.status_delivered!, 'vn: the status in words')
    t.equal(await vf.locator('[data-testid="log-table"] th').count(), 6, 'vn, full width: every column')
    t.notOk(await vf.getByRole('button', { name: vn.test_btn }).isDisabled(), 'vn: an administrator may send')
    await vnPage.screenshot({ path: join(OUT, 'kit-log-vn.png'), fullPage: true })
    t.same(vnErrors, [], 'vn: no script error or CSP violation')
    await vnPage.close()
  },
)
