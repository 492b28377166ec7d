/**
 * What the settings tab's browser tests share: Debian chromium through playwright-core, the tab
 * opened in the emulated Bitrix24 page (test/emulator/frame-host.ts), the SDK commands that page
 * recorded, and a watch on every script and console error.
 *
 * One chromium per test file, started on first use and closed when the file's tests end:
 * starting it is about two seconds of CPU (twice that on a loaded machine), which every subtest
 * paid while each launched its own. Each caller still gets a fresh browser context (cookies,
 * storage, cache, permissions, popups and downloads of its own), so subtests stay as isolated from
 * each other as separate browsers made them.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, type BrowserContext, chromium, type Frame, type FrameLocator, type Page } from 'playwright-core'
import tap from 'tap'
import { ROOT } from '../../src/paths.js'
import { VERIFIER_DEFAULTS } from '../../src/settings/portal-data.js'
import type { Teardown } from '../helpers.js'

export const CHROMIUM = '/usr/bin/chromium'
/** Screenshots (gitignored). */
export const OUT = join(ROOT, 'test-output')

let shared: Promise<Browser> | null = null

function browser(): Promise<Browser> {
  if (shared) return shared
  shared = chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
    timeout: 20_000,
  })
  // On the file's root test, which tears down once every test is done (passed, failed or timed
  // out), last registered first: registered here, at the first use, it runs before the teardowns
  // of the apps and emulators the file started at its top, as a browser per test did. The other
  // way round an app's close waits for sockets chromium still holds to it (20 to 70 s seen).
  tap.teardown(async () => {
    const opened = await shared?.catch(() => null)
    await opened?.close()
  })
  return shared
}

/** A fresh browser context in the file's chromium, closed on teardown. */
export async function launch(t: Teardown): Promise<BrowserContext> {
  const context = await (await browser()).newContext({ viewport: { width: 1320, height: 900 } })
  t.teardown(() => context.close())
  return context
}

/**
 * Page opens per frame host, as the app counts them. Each open carries a new AUTH_ID (the frame
 * host issues one per page), which the app checks with Bitrix24 out of the portal's small share
 * of verifications (VERIFIER_DEFAULTS: 3 at once, then one per 2 s) and refuses with a 429 beyond
 * it, a page no test expects. Tests that open pages quickly (the card tab's short plain pages)
 * reach that on a fast machine; so an open waits until the share has one again, which on most
 * opens is not at all. One share is kept per host URL, and one open short (the API sessions
 * test/helpers.ts opens are not counted here), so the wait errs long, never into a refusal.
 */
const shares = new Map<string, { left: number; at: number }>()

async function spendVerification(hostUrl: string): Promise<void> {
  const { burst, refillMs } = VERIFIER_DEFAULTS
  const key = new URL(hostUrl).origin + new URL(hostUrl).pathname
  const share = shares.get(key) ?? { left: burst - 1, at: Date.now() }
  let left = Math.min(burst - 1, share.left + (Date.now() - share.at) / refillMs)
  if (left < 1) {
    await new Promise((r) => setTimeout(r, Math.ceil((1 - left) * refillMs)))
    left = 1
  }
  shares.set(key, { left: left - 1, at: Date.now() })
}

/** Opens the frame host's page and gives the app's frame in it. */
export async function openTab(page: Page, hostUrl: string): Promise<FrameLocator> {
  await spendVerification(hostUrl)
  await page.goto(hostUrl)
  return page.frameLocator('#b24-app-frame')
}

/** The commands the app sent to the host page (see frame-host.ts). */
export async function commands(page: Page): Promise<Array<{ command: string; params: unknown }>> {
  return page.evaluate(
    () => (window as unknown as { __b24Commands: Array<{ command: string; params: unknown }> }).__b24Commands,
  )
}

export async function waitForCommand(page: Page, command: string, timeout = 10_000): Promise<void> {
  await page.waitForFunction(
    (c) =>
      (window as unknown as { __b24Commands?: Array<{ command: string }> }).__b24Commands?.some((x) => x.command === c),
    command,
    { timeout },
  )
}

export async function text(frame: FrameLocator, selector: string): Promise<string> {
  return (await frame.locator(selector).textContent()) ?? ''
}

/**
 * Resolves once nothing in the frame's document moves any more: every CSS transition and
 * animation with an end (an overlay fading in, a tab's indicator sliding) has finished, and the
 * next two frames have started none. What a fixed sleep guessed at before axe reads colours or a
 * screenshot is taken; endless ones (a loading spinner) are not waited for. Bounded by `timeout`.
 */
export async function settled(frame: Frame | FrameLocator, timeout = 5_000): Promise<void> {
  await frame.locator(':root').evaluate(async (_root, limit) => {
    const until = Date.now() + limit
    const nextFrame = () => new Promise((r) => requestAnimationFrame(r))
    // getAnimations() applies pending style changes first, so a transition they start is listed;
    // Vue's <Transition> starts its own two frames after the element appears, hence two more looks.
    const moving = () =>
      document
        .getAnimations()
        .filter((a) => a.playState === 'running' && Number.isFinite(a.effect?.getComputedTiming().endTime ?? 0))
    for (let quiet = 0; quiet < 3 && Date.now() < until; ) {
      const now = moving()
      if (now.length === 0) {
        quiet += 1
        if (quiet < 3) await nextFrame()
        continue
      }
      quiet = 0
      await Promise.race([
        Promise.all(now.map((a) => a.finished.catch(() => undefined))),
        new Promise((r) => setTimeout(r, until - Date.now())),
      ])
    }
  }, timeout)
}

/** A full-page screenshot to test-output/`name`.png once the app's frame is still. */
export async function screenshot(page: Page, frame: Frame | FrameLocator, name: string): Promise<void> {
  await settled(frame)
  mkdirSync(OUT, { recursive: true })
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true })
}

/** Every script error and console error (CSP violations are console errors) of a page. */
export function watchErrors(page: Page, errors: string[], name: string): void {
  page.on('pageerror', (err) => errors.push(`${name}: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return
    errors.push(`${name}: ${msg.text()} (${msg.location().url})`)
  })
}
