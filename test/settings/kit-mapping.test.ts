/**
 * The kit tab's field-mapping screen (src/web/screens/MappingScreen.vue) in real
 * chromium, framed by the emulated Bitrix24 page: a rule changed, the live preview following it,
 * the responsible person picked with Bitrix24's dialog, saved (what the app stored), a refusal
 * explained in plain words, then a lead delivered with the mapped field in the emulated portal;
 * a read-only user sees it all disabled and the API refuses the save. en and ru, narrow and wide.
 */
import type { Locator, Page } from 'playwright-core'
import t from 'tap'
import { strings } from '../../src/settings/i18n.js'
import { startFrameHost } from '../emulator/index.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { installedPortal, waitFor } from '../helpers.js'
import { connect, world } from '../tiktok-business/flow.js'
import { launch, openTab, screenshot, text, waitForCommand, watchErrors } from './browser-harness.js'

const WAIT = 15_000

/** A kit select menu picked from the keyboard: opened, filtered by its search box, the first match taken. */
async function pick(page: Page, trigger: Locator, search: string): Promise<void> {
  await trigger.click()
  await page.keyboard.type(search)
  await page.keyboard.press('Enter')
}

// One app against both emulators for the two tests, each on a portal of its own: the first one's
// portal has no TikTok connection (world() connects its own portal for the second).
const w = await world(t)
await connect(w)
const { emu } = w
const { app, url: appUrl } = w.started

t.test('the kit mapping screen: edit, live preview, save, the mapped field delivered; read-only', async (t) => {
  const portal = await installedPortal(emu, appUrl)
  portal.addUserField({
    FIELD_NAME: 'UF_CRM_TIKTOK_CAMPAIGN',
    USER_TYPE_ID: 'string',
    EDIT_FORM_LABEL: 'TikTok campaign',
  })
  const conf = (await app.settings.find(portal.memberId))!
  const deliver = async (n: number) => {
    const res = await postWebhook(appUrl, conf.webhook_key, notificationBody([sampleLead()]), {
      secret: conf.signing_secret,
    })
    t.equal(res.status, 200, `lead ${n} arrives`)
    await waitFor(`lead ${n} delivered`, async () => (await app.leads.counts(portal.memberId)).delivered === n, WAIT)
  }
  await deliver(1) // the preview's sample lead
  const host = await startFrameHost({ emulator: emu, portal, appUrl })
  t.teardown(() => host.close())
  const context = await launch(t)

  const open = async (lang: 'en' | 'ru', user: 1 | 2, width: number, errors: string[]) => {
    const page = await context.newPage()
    watchErrors(page, errors, `${lang}/${user}`)
    const frame = await openTab(page, `${host.url}?lang=${lang}&user=${user}&width=${width}`)
    await frame.getByRole('tab', { name: strings(lang).h_mapping }).click()
    await frame.locator('[data-testid="screen-mapping"]').waitFor({ timeout: WAIT })
    await frame.locator('[data-testid="fields-loading"]').waitFor({ state: 'detached', timeout: WAIT })
    await frame.locator('[data-testid="preview-table"]').waitFor({ timeout: WAIT })
    return { page, frame }
  }

  for (const [lang, width] of [
    ['en', 940],
    ['ru', 620],
  ] as const) {
    const words = strings(lang)
    const errors: string[] = []
    await app.settings.update(portal.memberId, { mapping_json: JSON.stringify({ rules: [], constants: {} }) })
    const { page, frame } = await open(lang, 1, width, errors)
    t.equal(await text(frame, '#mapping-h'), words.h_mapping, `${lang}: the screen's heading in its language`)
    t.equal(await frame.locator('[data-testid="mapping-dirty"]').count(), 0, `${lang}: nothing unsaved at first`)
    t.equal(
      await frame.locator('[data-testid="preview-table"] tr[data-field="UF_CRM_TIKTOK_CAMPAIGN"]').count(),
      0,
      `${lang}: the preview has no campaign field yet`,
    )

    // A rule: campaign name → the custom field; the preview follows the unsaved mapping.
    await frame.locator('[data-testid="rule-add"]').click()
    const rule = frame.locator('[data-testid="rule-1"]')
    await pick(page, rule.locator('[data-testid="rule-source"]'), words.meta_campaign_name!)
    await pick(page, rule.locator('[data-testid="rule-target"]'), 'UF_CRM_TIKTOK_CAMPAIGN')
    const row = frame.locator('[data-testid="preview-table"] tr[data-field="UF_CRM_TIKTOK_CAMPAIGN"]')
    await row.waitFor({ timeout: WAIT })
    t.match(await row.textContent(), /Spring campaign/, `${lang}: the preview shows the mapped field`)
    t.ok(await frame.locator('[data-testid="mapping-dirty"]').isVisible(), `${lang}: unsaved changes are flagged`)

    // The responsible person, picked with Bitrix24's own dialog.
    await frame.locator('[data-testid="pick-user"]').click()
    await page.getByRole('button', { name: 'Oleg Manager (#2)' }).click()
    await waitForCommand(page, 'selectUser')
    await frame
      .locator('[data-testid="const-ASSIGNED_BY_ID"]')
      .filter({ hasText: 'Oleg Manager' })
      .waitFor({ timeout: WAIT })
    await frame
      .locator('[data-testid="preview-table"] tr[data-field="ASSIGNED_BY_ID"]')
      .filter({ hasText: '(2)' })
      .waitFor({ timeout: WAIT })
    t.pass(`${lang}: the picked person is in the preview`)

    // An incomplete rule is explained before anything is sent.
    await frame.locator('[data-testid="rule-add"]').click()
    await frame.locator('[data-testid="mapping-save"]').click()
    const refused = frame.locator('[data-testid="mapping-result-error"]')
    await refused.waitFor({ timeout: WAIT })
    t.match(await refused.textContent(), words.rule_incomplete!.replace('{n}', '2'), `${lang}: rule 2 is incomplete`)
    await frame.getByRole('button', { name: words.rule_remove_label!.replace('{n}', '2') }).click()

    // Saved; the latest lead's phone has no country code and no default country is set: a warning.
    await frame.locator('[data-testid="mapping-save"]').click()
    const saved = frame.locator('[data-testid="mapping-result-info"]')
    await saved.waitFor({ timeout: WAIT })
    t.match(await saved.textContent(), words.saved_with_warnings, `${lang}: saved, in plain words`)
    t.match(await saved.locator('li').first().textContent(), /0912345678/, `${lang}: with the server's warning`)
    t.equal(await frame.locator('[data-testid="mapping-dirty"]').count(), 0, `${lang}: nothing unsaved after saving`)
    t.same(
      JSON.parse((await app.settings.find(portal.memberId))!.mapping_json),
      { rules: [{ source: 'meta.campaign_name', target: 'UF_CRM_TIKTOK_CAMPAIGN' }], constants: { ASSIGNED_BY_ID: 2 } },
      `${lang}: the mapping is stored`,
    )
    await screenshot(page, frame, `kit-mapping-${lang}-admin`)

    // Another tab and back: B24Tabs unmounted the screen, which shows the saved mapping, not the
    // page's (empty) one; an unsaved rule left there comes back too.
    await frame.locator('[data-testid="rule-add"]').click()
    await frame.getByRole('tab', { name: words.h_options }).click()
    await frame.locator('[data-testid="screen-mapping"]').waitFor({ state: 'detached', timeout: WAIT })
    await frame.getByRole('tab', { name: words.h_mapping }).click()
    const back = frame.locator('[data-testid="rule-1"]')
    await back.waitFor({ timeout: WAIT })
    t.match(
      await back.locator('[data-testid="rule-source"]').textContent(),
      words.meta_campaign_name!,
      `${lang}: the saved rule's source`,
    )
    t.match(
      await back.locator('[data-testid="rule-target"]').textContent(),
      /UF_CRM_TIKTOK_CAMPAIGN/,
      `${lang}: and field`,
    )
    t.equal(await frame.locator('[data-testid="rule-2"]').count(), 1, `${lang}: the unsaved rule is kept`)
    t.ok(await frame.locator('[data-testid="mapping-dirty"]').isVisible(), `${lang}: and flagged unsaved`)
    await frame.getByRole('button', { name: words.rule_remove_label!.replace('{n}', '2') }).click()
    await frame.locator('[data-testid="mapping-dirty"]').waitFor({ state: 'detached', timeout: WAIT })
    t.pass(`${lang}: without it, nothing unsaved: the saved mapping is the one compared`)

    // A lead delivered now carries the mapped field in Bitrix24.
    const before = portal.leads.size
    await deliver(lang === 'en' ? 2 : 3)
    const b24 = await waitFor('the new lead in Bitrix24', () => [...portal.leads.values()][before], WAIT)
    t.equal(b24['UF_CRM_TIKTOK_CAMPAIGN'], 'Spring campaign', `${lang}: the rule filled the custom field`)
    t.equal(Number(b24['ASSIGNED_BY_ID']), 2, `${lang}: the responsible person applied`)
    t.same(errors, [], `${lang}: no script error or CSP violation`)
    await page.close()
  }

  // The server's refusal in plain words: a saved rule whose field the portal no longer has, and a
  // fixed value for a field it never had. The source holds "; ", the separator of the refusal's
  // one-line message, so only the server's own list (`errors`) gives the problems whole.
  {
    const words = strings('en')
    const errors: string[] = []
    await app.settings.update(portal.memberId, {
      mapping_json: JSON.stringify({
        rules: [{ source: 'Budget; per month', target: 'UF_CRM_GONE' }],
        constants: { UF_CRM_NEVER: 'x' },
      }),
    })
    const { page, frame } = await open('en', 1, 1280, errors)
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/settings/mapping'))
    await frame.locator('[data-testid="mapping-save"]').click()
    const body = (await (await answer).json()) as { error: string; errors: string[] }
    t.equal(body.error, 'APP_ERR_MAPPING_INVALID', 'the server refuses the mapping')
    t.equal(body.errors.length, 2, 'with two problems')
    const refused = frame.locator('[data-testid="mapping-result-error"]')
    await refused.waitFor({ timeout: WAIT })
    t.match(await refused.textContent(), words.mapping_invalid, 'the refusal is titled in plain words')
    t.same(
      (await refused.locator('li').allTextContents()).map((x) => x.trim()),
      body.errors,
      "each of the server's problems listed, whole",
    )
    t.match(body.errors[0], /Rule 1 \("Budget; per month" → UF_CRM_GONE\).*does not exist on this portal/)
    await screenshot(page, frame, 'kit-mapping-en-refused')
    // The refused POST is logged by chromium as a failed resource; nothing else may be.
    const other = errors.filter((e) => !/status of 400 .*\/api\/settings\/mapping/.test(e))
    t.same(other, [], 'no script error or CSP violation besides the refused request')
    await page.close()
  }

  // Read-only: the same screen, every changing control disabled, and the API refuses a save.
  for (const [lang, width] of [
    ['en', 620],
    ['ru', 1280],
  ] as const) {
    const words = strings(lang)
    const errors: string[] = []
    await app.settings.update(portal.memberId, {
      mapping_json: JSON.stringify({
        rules: [{ source: 'meta.campaign_name', target: 'UF_CRM_TIKTOK_CAMPAIGN' }],
        constants: {},
      }),
    })
    const { page, frame } = await open(lang, 2, width, errors)
    t.match(await text(frame, '[data-testid="mapping-readonly"]'), words.readonly_hint, `${lang}: the read-only notice`)
    t.ok(await frame.locator('[data-testid="mapping-save"]').isDisabled(), `${lang}: save is disabled`)
    t.ok(await frame.locator('[data-testid="rule-add"]').isDisabled(), `${lang}: adding a rule is disabled`)
    t.ok(
      await frame.locator('[data-testid="rule-1"] [data-testid="rule-source"]').isDisabled(),
      `${lang}: the rule too`,
    )
    t.ok(await frame.locator('[data-testid="rule-remove"]').isDisabled(), `${lang}: removing it too`)
    t.ok(await frame.locator('[data-testid="const-SOURCE_ID"]').isDisabled(), `${lang}: the fixed values too`)
    await frame
      .locator('[data-testid="preview-table"] tr[data-field="UF_CRM_TIKTOK_CAMPAIGN"]')
      .waitFor({ timeout: WAIT })
    t.pass(`${lang}: the preview still shows what the mapping makes`)
    const boot = JSON.parse((await frame.locator('#boot').textContent()) ?? '{}') as { session: string; csrf: string }
    const res = await fetch(`${appUrl}/api/settings/mapping`, {
      method: 'POST',
      headers: { 'x-session': boot.session, 'x-csrf-token': boot.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ rules: [], constants: {} }),
    })
    t.equal(res.status, 403, `${lang}: the API refuses a read-only user's save`)
    t.match(JSON.parse((await app.settings.find(portal.memberId))!.mapping_json), {
      rules: [{ target: 'UF_CRM_TIKTOK_CAMPAIGN' }],
    })
    await screenshot(page, frame, `kit-mapping-${lang}-readonly`)
    t.same(errors, [], `${lang}: no script error or CSP violation`)
    await page.close()
  }
})

/**
 * A mapping the server saved by itself: on the TikTok screen "Create a lead field" makes a field
 * for a form's question and the server adds a rule for it. The mapping screen, unmounted
 * meanwhile with an unsaved rule, comes back with both: the edit kept, the server's rule added
 * (the classic tab's applyServerMapping), and Save stores the two.
 */
t.test('the kit mapping screen takes the rule the server saved for a new lead field', async (t) => {
  const host = await startFrameHost({ emulator: w.emu, portal: w.portal, appUrl })
  t.teardown(() => host.close())
  const context = await launch(t)
  const words = strings('en')
  const errors: string[] = []
  const page = await context.newPage()
  watchErrors(page, errors, 'en/admin')
  const frame = await openTab(page, `${host.url}?lang=en&user=1&width=1280`)
  const stored = async () => JSON.parse((await app.settings.find(w.portal.memberId))!.mapping_json)

  // An unsaved rule on the mapping screen.
  await frame.getByRole('tab', { name: words.h_mapping }).click()
  await frame.locator('[data-testid="fields-loading"]').waitFor({ state: 'detached', timeout: WAIT })
  await frame.locator('[data-testid="rule-add"]').click()
  const first = frame.locator('[data-testid="rule-1"]')
  await pick(page, first.locator('[data-testid="rule-source"]'), words.meta_campaign_name!)
  await pick(page, first.locator('[data-testid="rule-target"]'), 'COMMENTS')
  await frame.locator('[data-testid="mapping-dirty"]').waitFor({ timeout: WAIT })

  // A lead field for the form's question, made on the TikTok screen.
  await frame.getByRole('tab', { name: words.h_tiktok }).click()
  const card = frame.locator('[data-testid="tt-conn"]')
  await card.waitFor({ timeout: WAIT })
  await card
    .getByRole('button', { name: words.tt_create_field_label!.replace('{question}', 'Which service?') })
    .first()
    .click()
  await card.locator('[data-testid="tt-form-result"]').filter({ hasText: 'Which service?' }).waitFor({ timeout: WAIT })
  const serverRule = await waitFor(
    'the rule the server saved',
    async () => ((await stored()).rules as Array<{ source: string; target: string }>)[0],
    WAIT,
  )
  t.equal(serverRule.source, 'Which service?', 'the server mapped the question')
  t.match(serverRule.target, /^UF_CRM_/, 'to the new lead field')

  // Back on the mapping screen: the edit and the server's rule.
  await frame.getByRole('tab', { name: words.h_mapping }).click()
  const second = frame.locator('[data-testid="rule-2"]')
  await second.waitFor({ timeout: WAIT })
  t.match(await first.locator('[data-testid="rule-target"]').textContent(), /COMMENTS/, 'the unsaved rule is kept')
  t.match(await second.locator('[data-testid="rule-source"]').textContent(), /Which service\?/, "the server's rule")
  t.match(await second.locator('[data-testid="rule-target"]').textContent(), serverRule.target, 'to its field')
  t.equal(await second.locator('[data-testid="rule-other"]').count(), 0, 'the question is a pick, not typed')
  t.ok(await frame.locator('[data-testid="mapping-dirty"]').isVisible(), 'still unsaved: the edit is not stored')
  await frame.locator('[data-testid="mapping-save"]').click()
  await frame.locator('[data-testid="mapping-dirty"]').waitFor({ state: 'detached', timeout: WAIT })
  t.same(
    (await stored()).rules.map((r: { source: string; target: string }) => [r.source, r.target]),
    [
      ['meta.campaign_name', 'COMMENTS'],
      ['Which service?', serverRule.target],
    ],
    'saved: both rules stored',
  )
  await screenshot(page, frame, 'kit-mapping-en-server-rule')
  t.same(errors, [], 'no script error or CSP violation')
  await page.close()
})
