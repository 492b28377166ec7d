/**
 * The settings tab rebuilt on Bitrix24's UI kit (src/web/; issue 12 in
 * progress: the overview screen so far) in real chromium, framed by the emulated Bitrix24 page.
 * Each case fails on any script error or CSP violation (the kit page runs under `style-src 'self'`,
 * no inline styles) and saves a screenshot to test-output/kit-*.png.
 */
import t from 'tap'
import { strings } from '../../src/settings/i18n.js'
import { startFrameHost } from '../emulator/index.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { installedPortal, startApp, startEmulator, waitFor } from '../helpers.js'
import { launch, openTab, screenshot, text, waitForCommand, watchErrors } from './browser-harness.js'

const WAIT = 15_000

// One app, emulator and portal for both tests: the second only reads how the page is served.
const emu = await startEmulator(t)
const { url: appUrl, app } = await startApp(t, { emu })
const portal = await installedPortal(emu, appUrl)
const host = await startFrameHost({ emulator: emu, portal, appUrl })
t.teardown(() => host.close())

t.test('the kit overview: status in plain words, queue, counters and chart, in en, ru and vn', async (t) => {
  const conf = (await app.settings.find(portal.memberId))!
  const res = await postWebhook(appUrl, conf.webhook_key, notificationBody([sampleLead()]), {
    secret: conf.signing_secret,
  })
  t.equal(res.status, 200, 'a lead arrives')
  await waitFor('the lead delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 1)
  const context = await launch(t)

  for (const [lang, user, width] of [
    ['en', 1, 940],
    ['ru', 2, 620],
    ['vn', 1, 1280],
  ] as const) {
    const words = strings(lang)
    const page = await context.newPage()
    const errors: string[] = []
    watchErrors(page, errors, `${lang}/${user}`)
    const statsAsked: string[] = []
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/settings/stats') statsAsked.push(r.url())
    })
    const frame = await openTab(page, `${host.url}?lang=${lang}&user=${user}&width=${width}`)
    await frame.locator('[data-testid="overview"]').waitFor({ timeout: WAIT })
    await waitForCommand(page, 'setTitle')
    await waitForCommand(page, 'resizeWindow')
    t.equal(await text(frame, '#overview-h'), words.h_status, `${lang}: the screen's heading in its language`)
    t.equal(
      await text(frame, '[data-testid="user-role"]'),
      user === 1 ? words.role_admin : words.role_readonly,
      `${lang}: the user's role`,
    )
    t.match(await text(frame, '[data-testid="portal-domain"]'), portal.domain, `${lang}: the portal`)
    t.equal(
      await text(frame, '[data-testid="queue"]'),
      words.queue_value!.replace('{pending}', '0').replace('{sending}', '0').replace('{failed}', '0'),
      `${lang}: the queue in plain words`,
    )
    await frame.locator('[data-testid="counters-today"] [data-k="delivered"]').waitFor({ timeout: WAIT })
    t.equal(await text(frame, '[data-testid="counters-today"] [data-k="delivered"]'), '1', `${lang}: delivered today`)
    t.equal(await text(frame, '[data-testid="counters-week"] [data-k="received"]'), '1', `${lang}: received this week`)
    await frame.locator('[data-testid="daily-chart"] canvas').waitFor({ timeout: WAIT })
    t.pass(`${lang}: the week's chart is drawn`)
    t.equal(statsAsked.length, 0, `${lang}: the counters came with the page (no second request)`)
    // Back to the overview after another screen: fresh counters are asked for.
    await frame.getByRole('tab', { name: words.h_log }).click()
    await frame.locator('[data-testid="screen-log"]').waitFor({ timeout: WAIT })
    await frame.getByRole('tab', { name: words.h_status }).click()
    await frame.locator('[data-testid="counters-today"] [data-k="delivered"]').waitFor({ timeout: WAIT })
    t.equal(statsAsked.length, 1, `${lang}: a return to the overview asks for fresh counters`)
    await screenshot(page, frame, `kit-overview-${lang}`)
    t.same(errors, [], `${lang}: no script error or CSP violation`)
    await page.close()
  }
})

t.test('the kit page is served with a strict style policy and a shell that carries no inline script', async (t) => {
  const context = await launch(t)
  const page = await context.newPage()
  const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/bitrix24/placement', { timeout: WAIT })
  await openTab(page, host.url)
  const response = await answered
  const csp = (await response.headerValue('content-security-policy')) ?? ''
  t.match(csp, /script-src 'self';/, 'scripts from the app only')
  t.match(csp, /style-src 'self';/, 'styles from the app only: no unsafe-inline')
  const html = await response.text()
  const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)]
  t.ok(scripts.length >= 2, 'the SDK, the entry and the boot state')
  for (const [, attrs, body] of scripts)
    t.ok(/\bsrc=/.test(attrs!) || (/type="application\/json"/.test(attrs!) && body!.length > 0), `script ${attrs}`)
  const asset = html.match(/src="(\/static\/web\/assets\/[^"]+\.js)"/)?.[1]
  const res = await fetch(`${appUrl}${asset}`)
  t.equal(res.status, 200, 'the entry script is served')
  t.match(res.headers.get('cache-control'), /immutable/, 'hashed: cached for good')
})
