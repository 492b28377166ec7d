/**
 * What the settings tab's browser tests share: Debian chromium through playwright-core, the tab
 * opened in the emulated Bitrix24 page (test/emulator/frame-host.ts), the SDK commands that page
 * recorded, and a watch on every script and console error.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type FrameLocator, type Page } from 'playwright-core'
import { ROOT } from '../../src/paths.js'
import type { Teardown } from '../helpers.js'

export const CHROMIUM = '/usr/bin/chromium'
/** Screenshots (gitignored). */
export const OUT = join(ROOT, 'test-output')

/** A headless chromium with a fresh profile, closed and removed on teardown. */
export async function launch(t: Teardown): Promise<BrowserContext> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'b24tl-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
    viewport: { width: 1320, height: 900 },
    timeout: 20_000,
  })
  t.teardown(async () => {
    await context.close()
    rmSync(userDataDir, { recursive: true, force: true })
  })
  return context
}

/** Opens the frame host's page and gives the app's frame in it. */
export async function openTab(page: Page, hostUrl: string): Promise<FrameLocator> {
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

/** Every script error and console error (CSP violations are console errors) of a page. */
export function watchErrors(page: Page, errors: string[], name: string): void {
  page.on('pageerror', (err) => errors.push(`${name}: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return
    errors.push(`${name}: ${msg.text()} (${msg.location().url})`)
  })
}
