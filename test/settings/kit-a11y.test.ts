/**
 * Accessibility of the kit tab (src/web/; issue 12: "labels on every control,
 * keyboard use, focus visible, contrast as b24ui gives", "works in a narrow slider (620 px) and
 * full width") in real chromium, framed by the emulated Bitrix24 page.
 *
 * axe-core checks each of the seven screens (WCAG 2.0/2.1 A and AA plus axe's best practices) for an
 * administrator and a read-only user, in English at full width and in Russian and Vietnamese in the
 * narrow slider, and for the administrator what opens on top (a select's list, a confirmation, a
 * lead's record, the import box, a stage's event list); every serious or critical violation fails,
 * named by rule, element and help text (the full axe answer goes beside each screenshot as JSON). The narrow slider must
 * never scroll sideways. The keyboard: Tab from the top reaches the screen tabs, the arrow keys
 * switch screens, Enter and Space press a focused button (which keeps the focus while it loads), and
 * whatever has the keyboard focus shows a ring (b24ui's buttons: their focus colours, see below).
 * Screenshots go to test-output/kit-a11y-*.png.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Frame, FrameLocator, Page } from 'playwright-core'
import t from 'tap'
import { type Lang, strings } from '../../src/settings/i18n.js'
import { startFrameHost } from '../emulator/index.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { installedPortal, startApp, startEmulator, type Teardown, waitFor } from '../helpers.js'
import { buildTikTokEmulator } from '../tiktok-emulator/index.js'
import { launch, OUT, openTab, watchErrors } from './browser-harness.js'

const WAIT = 20_000
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
const TT_APP_ID = 'tt-app-a11y'
const TT_APP_SECRET = 'tt-secret-a11y-0123456789'

type ScreenName = 'overview' | 'tiktok' | 'quality' | 'mapping' | 'options' | 'log' | 'analytics'
const SCREENS: Array<{
  name: ScreenName
  heading: 'h_status' | 'h_tiktok' | 'h_quality' | 'h_mapping' | 'h_options' | 'h_log' | 'h_analytics'
}> = [
  { name: 'overview', heading: 'h_status' },
  { name: 'tiktok', heading: 'h_tiktok' },
  { name: 'quality', heading: 'h_quality' },
  { name: 'mapping', heading: 'h_mapping' },
  { name: 'options', heading: 'h_options' },
  { name: 'log', heading: 'h_log' },
  { name: 'analytics', heading: 'h_analytics' },
]

/** A screen is ready when its data has arrived (what axe sees is what the user sees). */
async function ready(frame: FrameLocator, screen: ScreenName): Promise<void> {
  const wait = (sel: string, state: 'visible' | 'detached' = 'visible') =>
    frame.locator(sel).first().waitFor({ state, timeout: WAIT })
  switch (screen) {
    case 'overview':
      await wait('[data-testid="overview"]')
      await wait('[data-testid="daily-chart"] canvas')
      break
    case 'tiktok':
      await wait('[data-testid="screen-tiktok"]')
      await wait('[data-testid="tt-conn"]')
      await wait('[data-testid="tt-grant"]')
      break
    case 'quality':
      await wait('[data-testid="screen-quality"]')
      await wait('[data-testid="q-card"][data-loaded="true"] [data-testid="q-stages"]')
      break
    case 'mapping':
      await wait('[data-testid="screen-mapping"]')
      await wait('[data-testid="fields-loading"]', 'detached')
      break
    case 'options':
      await wait('[data-testid="screen-options"]')
      break
    case 'log':
      await wait('[data-testid="screen-log"]')
      await wait('[data-testid="log-table"] [data-status="failed"]')
      break
    case 'analytics':
      await wait('[data-testid="screen-analytics"][data-loaded="true"]')
      await wait('[data-testid="an-table"] [data-row-id]')
      await wait('[data-testid="bars-chart"] canvas')
      break
  }
}

/** The app's own frame inside the emulated Bitrix24 page. */
async function appFrame(page: Page): Promise<Frame> {
  return waitFor('the app frame', () => page.frames().find((f) => f.url().includes('/bitrix24/placement')) ?? null)
}

/** b24ui's colour styles for primary and status colours (filled, tinted alert/success/warning). */
const B24_COLOURS = [
  'filled',
  'filled-success',
  'filled-alert',
  'filled-warning',
  'tinted-alert',
  'tinted-success',
  'tinted-warning',
]
const styled = (prefix: string) => `:is(${B24_COLOURS.map((c) => `.${prefix}style-${c}`).join(', ')})`

/**
 * What axe reports inside b24ui's own markup that no prop of it reaches, each one rule on the
 * elements one selector names, with the reason; nothing else is ever left out. The issue takes
 * "contrast as b24ui gives": Bitrix24's palette itself is below 4.5:1 for its primary blue (#0075ff
 * under white, 4.2), its status colours (white on #1bce7b green 2.1, on #ff5752 red 3.1; no b24ui
 * variant of success, alert or warning reaches 4.5 in badge or alert), its grey for hints (#828b95,
 * 3.45) and its tab labels (3.1 and 3.7 on the tab bar). Where a b24ui colour prop that passes
 * exists without losing the meaning, the tab uses it (the role badge); the rest stays the CRM's look.
 */
const KNOWN: Array<{ rule: string; selector: string; why: string }> = [
  { rule: 'color-contrast', selector: '[role="tab"] [data-slot="label"]', why: 'b24ui tab labels' },
  {
    rule: 'color-contrast',
    selector: `.ui-label__scope${styled('')} [data-slot="label"]`,
    why: 'b24ui status badges (success, alert, warning, primary)',
  },
  {
    rule: 'color-contrast',
    selector: `.ui-btn${styled('--')} [data-slot="labelInner"]`,
    why: 'b24ui primary and alert buttons',
  },
  {
    rule: 'color-contrast',
    selector: `[data-slot="root"]${styled('')}:has(> [data-slot="wrapper"] > [data-slot="title"]) :is([data-slot="title"], [data-slot="description"], [data-slot="description"] *)`,
    why: 'b24ui alerts in status colours (their text is ours, the colours b24ui’s)',
  },
  { rule: 'color-contrast', selector: '.text-description', why: 'b24ui hints, help and descriptions' },
  {
    rule: 'color-contrast',
    selector: '[role="option"] [data-slot="itemLabel"]',
    why: 'b24ui select lists: the options not chosen are in its hint grey',
  },
  {
    rule: 'color-contrast',
    selector: ':is([data-slot="label"], [data-slot="description"]).cursor-not-allowed',
    why: 'labels of disabled b24ui checkboxes and radios (WCAG 1.4.3 exempts inactive controls)',
  },
  {
    // reka-ui's select list is modal: while it is open, hideOthers() sets aria-hidden on the app
    // behind it (marking it data-aria-hidden) and keeps the focus in the list, but the app's own
    // tab stops stay as they are, which axe reports. hideOthers leaves aria-live regions visible,
    // so on a screen with one (a result line) it marks the elements around it instead of #app.
    rule: 'aria-hidden-focus',
    selector: '#app[data-aria-hidden="true"], #app [data-aria-hidden="true"]',
    why: 'reka-ui hides the page behind an open select list',
  },
]

type Violation = {
  id: string
  impact: string | null
  help: string
  nodes: Array<{ target: unknown[]; html: string; failureSummary?: string }>
}

/**
 * axe-core on the frame's document: the serious and critical violations, one line per element
 * (every violation, minor ones and known ones too, with its markup goes to `report` for reading).
 */
async function axe(frame: Frame, report?: string): Promise<string[]> {
  // page.addScriptTag would add an inline <script>, which the page's CSP (script-src 'self') blocks
  // (it throws, and the page logs a CSP violation); playwright's evaluate runs through the devtools
  // protocol, which CSP does not govern, so the library is evaluated from its source instead.
  if (!(await frame.evaluate(() => 'axe' in window))) await frame.evaluate(AXE_SOURCE)
  const violations = await frame.evaluate(async (known) => {
    const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<unknown> } }).axe
    const res = (await axe.run(document, {
      runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
    })) as { violations: Violation[] }
    const isKnown = (rule: string, target: unknown[]) => {
      // A target inside an iframe or shadow root has more parts: never known.
      const el = target.length === 1 ? document.querySelector(String(target[0])) : null
      return !!el && known.some((k) => k.rule === rule && el.matches(k.selector))
    }
    return res.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({
        target: n.target.map(String),
        html: n.html,
        summary: n.failureSummary,
        known: isKnown(v.id, n.target),
      })),
    }))
  }, KNOWN)
  if (report) writeFileSync(report, JSON.stringify(violations, null, 2))
  const found: string[] = []
  for (const v of violations) {
    if (v.impact !== 'serious' && v.impact !== 'critical') continue
    for (const n of v.nodes) if (!n.known) found.push(`${v.id} [${v.impact}] ${n.target.join(' ')}: ${v.help}`)
  }
  return found
}

async function seed(t: Teardown) {
  const tt = await buildTikTokEmulator({ appId: TT_APP_ID, appSecret: TT_APP_SECRET })
  await tt.listen(0)
  t.teardown(() => tt.close())
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
  const portal = await installedPortal(emu, appUrl)
  const m = portal.memberId
  await app.settings.update(m, { dedup_policy: 'off' })
  const conf = (await app.settings.find(m))!
  // One lead delivered, one Bitrix24 refuses: the log shows a link, an error and a re-send button.
  const post = (lead: ReturnType<typeof sampleLead>) =>
    postWebhook(appUrl, conf.webhook_key, notificationBody([lead]), { secret: conf.signing_secret })
  await post(sampleLead())
  await waitFor('the lead delivered', async () => (await app.leads.counts(m)).delivered === 1, WAIT)
  emu.faults.failCommands(1, 'ERROR_ARGUMENT', { method: 'crm.lead.add', memberId: m })
  await post(sampleLead({ name: 'Tran Thi Binh', phone: '0987654321', email: 'binh@example.com' }))
  await waitFor('the lead refused', async () => (await app.leads.counts(m)).failed === 1, WAIT)

  // A connected ad account with a form, and a pending approval with the account picker: stored
  // straight in the app's tables (the OAuth round trip is kit-tiktok.test.ts's subject, not this one).
  const ctx = app.tiktok.ctx!
  const now = Date.now()
  await ctx.repo.insertConnection({
    advertiser_id: '7001',
    member_id: m,
    advertiser_name: 'Sunrise Spa',
    token_sealed: ctx.box.seal('tt-token-a11y'),
    scope_json: '[]',
    callback_url: `${appUrl}/tiktok/webhook/${conf.webhook_key}`,
    connected_by_id: 1,
    connected_by_name: 'Admin',
    connected_at: now,
    updated_at: now,
  })
  await ctx.repo.upsertForm({
    advertiser_id: '7001',
    page_id: '9001',
    member_id: m,
    title: 'Spring promo',
    status: 'ACTIVE',
    subscription_id: null,
    fields_json: JSON.stringify(['name', 'email', 'Which service?']),
    last_backfill_at: null,
    last_backfill_added: null,
    last_backfill_error: null,
    test_lead_id: null,
    test_lead_at: null,
    updated_at: now,
  })
  await ctx.repo.saveGrant({
    id: 'grant-a11y',
    member_id: m,
    user_id: 1,
    user_name: 'Admin',
    token_sealed: ctx.box.seal('tt-token-a11y-2'),
    scope_json: '[]',
    advertisers_json: JSON.stringify([
      { advertiserId: '7001', advertiserName: 'Sunrise Spa' },
      { advertiserId: '7002', advertiserName: 'Other Shop' },
    ]),
    callback_url: `${appUrl}/tiktok/webhook/${conf.webhook_key}`,
    expires_at: now + 3_600_000,
  })

  const host = await startFrameHost({ emulator: emu, portal, appUrl })
  t.teardown(() => host.close())
  return { host }
}

t.test('every screen passes axe-core, admin and read-only, full width and the narrow slider', async (t) => {
  const { host } = await seed(t)
  const context = await launch(t)
  mkdirSync(OUT, { recursive: true })

  for (const [lang, user, width] of [
    ['en', 1, 1280],
    ['en', 2, 1280],
    ['ru', 1, 620],
    ['vn', 2, 620],
  ] as const) {
    const words = strings(lang as Lang)
    const who = `${lang}/${user === 1 ? 'admin' : 'read-only'}/${width}`
    const page = await context.newPage()
    const errors: string[] = []
    watchErrors(page, errors, who)
    const locator = await openTab(page, `${host.url}?lang=${lang}&user=${user}&width=${width}`)
    const frame = await appFrame(page)
    for (const s of SCREENS) {
      await locator.getByRole('tab', { name: words[s.heading] }).click()
      await ready(locator, s.name)
      await page.waitForTimeout(100)
      const shot = `kit-a11y-${lang}-${user}-${width}-${s.name}`
      t.same(await axe(frame, join(OUT, `${shot}.json`)), [], `${who} ${s.name}: no serious or critical axe violation`)
      if (width <= 620) {
        const { scroll, client } = await frame.evaluate(() => ({
          scroll: document.scrollingElement!.scrollWidth,
          client: document.scrollingElement!.clientWidth,
        }))
        t.ok(scroll <= client + 1, `${who} ${s.name}: no horizontal scrollbar (${scroll} <= ${client})`)
      }
      await page.screenshot({ path: join(OUT, `${shot}.png`), fullPage: true })
    }
    if (user === 1) {
      // What opens on top: a select's list, a confirmation, the lead's record, the import box.
      const opened = async (name: string, open: () => Promise<void>, close: () => Promise<void>) => {
        await open()
        await page.waitForTimeout(300)
        const shot = `kit-a11y-${lang}-${user}-${width}-${name}`
        t.same(await axe(frame, join(OUT, `${shot}.json`)), [], `${who} ${name}: no serious or critical axe violation`)
        await page.screenshot({ path: join(OUT, `${shot}.png`), fullPage: true })
        await close()
      }
      const pressEscape = () => page.keyboard.press('Escape')
      await locator.getByRole('tab', { name: words.h_options }).click()
      await ready(locator, 'options')
      await opened(
        'options-select',
        async () => {
          await locator.locator('[data-testid="opt-dedup"]').click()
          await locator.getByRole('listbox').waitFor({ timeout: WAIT })
        },
        pressEscape,
      )
      await opened(
        'options-confirm',
        async () => {
          await locator.locator('[data-testid="secret-rotate"]').click()
          await locator.getByRole('dialog').waitFor({ timeout: WAIT })
        },
        () => locator.locator('[data-testid="secret-rotate-cancel"]').click(),
      )
      await locator.getByRole('tab', { name: words.h_log }).click()
      await ready(locator, 'log')
      await opened(
        'log-details',
        async () => {
          await locator.locator('[data-testid="lead-details"]').first().click()
          await locator.getByRole('dialog').waitFor({ timeout: WAIT })
        },
        pressEscape,
      )
      await locator.getByRole('tab', { name: words.h_tiktok }).click()
      await ready(locator, 'tiktok')
      await opened(
        'tiktok-import',
        () => locator.locator('[data-testid="tt-import"]').click(),
        () => locator.locator('[data-testid="tt-import"]').click(),
      )
      await locator.getByRole('tab', { name: words.h_quality }).click()
      await ready(locator, 'quality')
      await opened(
        'quality-select',
        async () => {
          // By keyboard: the list of a select low in the frame can open outside the page's viewport.
          await locator.locator('[data-testid="q-event-IN_PROCESS"]').focus()
          await page.keyboard.press('Enter')
          await locator.getByRole('listbox').waitFor({ timeout: WAIT })
        },
        pressEscape,
      )
    }
    t.same(errors, [], `${who}: no script error or CSP violation`)
    await page.close()
  }
})

/**
 * What has the keyboard focus in the frame, and how it looks: a ring (an outline, or a box-shadow
 * in a colour that is not transparent) and its colours. The element is kept in the frame's
 * `__focused` list, so its resting look can be read once the focus has moved on.
 */
async function focused(frame: Frame) {
  return frame.evaluate(() => {
    const el = document.activeElement as HTMLElement | null
    if (!el || el === document.body) return null
    const w = window as unknown as { __focused?: Element[] }
    w.__focused ??= []
    const index = w.__focused.push(el) - 1
    const css = getComputedStyle(el)
    const shadowVisible = (css.boxShadow.match(/rgba?\([^)]*\)[^,]*(?:,|$)/g) ?? []).some((part) => {
      const [r, g, b, a = '1'] = part
        .match(/rgba?\(([^)]*)\)/)![1]!
        .split(/[,\s/]+/)
        .filter(Boolean)
      const lengths = part.replace(/rgba?\([^)]*\)/, '').match(/-?[\d.]+px/g) ?? []
      return Number(a) > 0 && [r, g, b].length === 3 && lengths.some((l) => Number.parseFloat(l) !== 0)
    })
    const outline =
      css.outlineStyle !== 'none' &&
      Number.parseFloat(css.outlineWidth) > 0 &&
      !/rgba\([^)]*,\s*0\)/.test(css.outlineColor)
    return {
      index,
      role: el.getAttribute('role'),
      tag: el.tagName.toLowerCase(),
      text: (el.textContent ?? '').trim(),
      selected: el.getAttribute('aria-selected'),
      testid: el.dataset['testid'] ?? null,
      b24Button: el.classList.contains('ui-btn'),
      ring: outline || shadowVisible,
      look: `${css.outlineStyle} ${css.outlineWidth} ${css.outlineColor} | ${css.boxShadow} | ${css.backgroundColor} | ${css.borderColor}`,
    }
  })
}

/** The resting look (as in `focused`) of the elements kept in `__focused`, focus elsewhere. */
async function restingLooks(frame: Frame): Promise<string[]> {
  return frame.evaluate(() =>
    ((window as unknown as { __focused?: Element[] }).__focused ?? []).map((el) => {
      const css = getComputedStyle(el)
      return `${css.outlineStyle} ${css.outlineWidth} ${css.outlineColor} | ${css.boxShadow} | ${css.backgroundColor} | ${css.borderColor}`
    }),
  )
}

t.test('the keyboard: Tab reaches the screen tabs, arrows switch screens, Enter and Space press buttons', async (t) => {
  const { host } = await seed(t)
  const context = await launch(t)
  mkdirSync(OUT, { recursive: true })
  const en = strings('en')

  for (const width of [1280, 620]) {
    const page = await context.newPage()
    const errors: string[] = []
    watchErrors(page, errors, `en/${width}`)
    const locator = await openTab(page, `${host.url}?lang=en&user=1&width=${width}`)
    const frame = await appFrame(page)
    await ready(locator, 'overview')
    const passed: Array<NonNullable<Awaited<ReturnType<typeof focused>>>> = []

    // From the top of the tab (a click on its title, which takes no focus itself).
    await locator.locator('[data-testid="app-title"]').click()
    let f = await focused(frame)
    for (let i = 0; i < 5 && f?.role !== 'tab'; i++) {
      await page.keyboard.press('Tab')
      f = await focused(frame)
    }
    t.equal(f?.role, 'tab', `${width}: Tab from the top reaches the screen tabs`)
    t.equal(f?.text, en.h_status, `${width}: on the open screen's tab first`)
    t.ok(f?.ring, `${width}: the focused tab shows a focus ring (${f?.look})`)
    if (f) passed.push(f)

    // Arrow keys move along the tabs and open each screen (reka's automatic activation).
    await page.keyboard.press('ArrowRight')
    f = await focused(frame)
    t.equal(f?.text, en.h_tiktok, `${width}: ArrowRight moves to the next tab`)
    t.equal(f?.selected, 'true', `${width}: and opens it`)
    await ready(locator, 'tiktok')
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight')
    f = await focused(frame)
    t.equal(f?.text, en.h_options, `${width}: three more (lead quality, mapping) to the options`)
    await ready(locator, 'options')
    await page.keyboard.press('ArrowLeft')
    t.equal((await focused(frame))?.text, en.h_mapping, `${width}: ArrowLeft goes back`)
    await ready(locator, 'mapping')
    await page.keyboard.press('ArrowRight')
    await ready(locator, 'options')

    // Tab onwards to the secret's Reveal button, noting every stop on the way.
    const masked = await locator.locator('[data-testid="secret"]').inputValue()
    for (let i = 0; i < 40 && f?.testid !== 'secret-reveal'; i++) {
      await page.keyboard.press('Tab')
      f = await focused(frame)
      if (f) passed.push(f)
    }
    t.equal(f?.testid, 'secret-reveal', `${width}: Tab reaches the Reveal button`)
    t.ok(
      passed.some((p) => p.role === 'tabpanel'),
      `${width}: the open screen's panel is a Tab stop (reka), so its focus must show too`,
    )

    // Enter reveals the secret, and the button keeps the focus while it loads; Space hides it again.
    await page.keyboard.press('Enter')
    await locator.locator('[data-testid="secret-reveal"][aria-pressed="true"]').waitFor({ timeout: WAIT })
    t.not(await locator.locator('[data-testid="secret"]').inputValue(), masked, `${width}: Enter revealed the secret`)
    await waitFor('the Reveal button focused again', async () => (await focused(frame))?.testid === 'secret-reveal')
    t.pass(`${width}: the focus stays on the button across its loading state`)
    await page.screenshot({ path: join(OUT, `kit-a11y-keyboard-${width}.png`), fullPage: true })
    await page.keyboard.press('Space')
    await locator.locator('[data-testid="secret-reveal"][aria-pressed="false"]').waitFor({ timeout: WAIT })
    t.equal(await locator.locator('[data-testid="secret"]').inputValue(), masked, `${width}: Space hid it again`)

    // Every stop showed a focus ring, b24ui's Button included: its theme's focus-visible outline
    // is cancelled by its own focus:outline-none under Tailwind 4, so src/web/vite.config.ts
    // restores the outline style; without that this check fails on every button.
    await locator.locator('[data-testid="app-title"]').click()
    const resting = await restingLooks(frame)
    for (const p of passed) {
      const name = `${p.tag}[${p.testid ?? p.role ?? p.text.slice(0, 20)}]`
      // The ring (or the colours) must be the focus's own, not the control's resting look.
      const shown = p.ring && p.look !== resting[p.index]
      t.ok(shown, `${width}: focus visible on ${name} (focused ${p.look}; resting ${resting[p.index]})`)
    }
    t.same(errors, [], `${width}: no script error or CSP violation`)
    await page.close()
  }
})
