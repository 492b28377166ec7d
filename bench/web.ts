/**
 * The settings tab (src/web/, issue 12): what a browser downloads for it and how soon it is usable
 * inside the Bitrix24 frame. Sizes are read from the build (dist/web, rebuilt here first): the
 * entry script with the chunks it imports statically, its styles, and the lazily loaded rest,
 * each gzipped. Timing opens the tab in Debian's chromium through the emulated Bitrix24 page
 * (test/emulator's frame host), against the app as a child process, and reports the frame's first
 * contentful paint and when the overview's counters are on screen.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { chromium } from 'playwright-core'
import { WEB_DIST } from '../src/paths.js'
import { type Emulator, startFrameHost } from '../test/emulator/index.js'
import { install } from './load.js'

interface Chunk {
  file: string
  isEntry?: boolean
  imports?: string[]
  dynamicImports?: string[]
  css?: string[]
}

const gz = (file: string) => gzipSync(readFileSync(join(WEB_DIST, file))).length / 1024

export function bundleSizes(): { jsKb: number; cssKb: number; lazyKb: number } {
  execFileSync('npm', ['run', 'build:web'], { stdio: 'ignore' })
  const manifest = JSON.parse(readFileSync(join(WEB_DIST, '.vite', 'manifest.json'), 'utf8')) as Record<string, Chunk>
  const [entryKey] = Object.entries(manifest).find(([, c]) => c.isEntry) ?? []
  if (!entryKey) throw new Error('the web build names no entry')
  // What the page loads before it can show anything: the entry and its static imports, with their CSS.
  const eager = new Set<string>()
  const walk = (key: string) => {
    if (eager.has(key)) return
    eager.add(key)
    for (const k of manifest[key]?.imports ?? []) walk(k)
  }
  walk(entryKey)
  let jsKb = 0
  let cssKb = 0
  let lazyKb = 0
  for (const [key, c] of Object.entries(manifest)) {
    const css = (c.css ?? []).reduce((s, f) => s + gz(f), 0)
    if (eager.has(key)) {
      jsKb += gz(c.file)
      cssKb += css
    } else lazyKb += gz(c.file) + css
  }
  const r = (n: number) => Math.round(n * 10) / 10
  return { jsKb: r(jsKb), cssKb: r(cssKb), lazyKb: r(lazyKb) }
}

/** On screen once the tab is usable: the overview's counters (they need one API call after the page). */
const USABLE = '[data-testid="counters-today"] [data-k="delivered"]'

/** Median over `runs` fresh pages of the frame's first contentful paint and of the counters being shown. */
export async function firstPaint(
  emu: Emulator,
  appUrl: string,
  runs = 5,
): Promise<{ fcpMs: number; usableMs: number; shellMs: number; scriptMs: number }> {
  const portal = await install(emu, appUrl)
  const host = await startFrameHost({ emulator: emu, portal, appUrl })
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  })
  const fcp: number[] = []
  const usable: number[] = []
  const shell: number[] = []
  const script: number[] = []
  try {
    for (let i = 0; i < runs; i++) {
      const page = await browser.newPage({ viewport: { width: 1320, height: 900 } })
      const start = Date.now()
      await page.goto(host.url)
      const frame = page.frameLocator('#b24-app-frame')
      await frame.locator(USABLE).first().waitFor({ timeout: 30_000 })
      usable.push(Date.now() - start)
      const appFrame = page.frames().find((f) => f !== page.mainFrame() && f.url().startsWith(appUrl))
      // The frame's paint on the bench's clock (epoch ms): its time origin plus the entry's offset.
      const marks = await appFrame?.evaluate(() => {
        const e = performance.getEntriesByName('first-contentful-paint')[0]
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined
        // The entry script: the last of the page's own scripts to arrive.
        const scripts = performance
          .getEntriesByType('resource')
          .filter((r) => /\/static\/web\/assets\/main-.*\.js$/.test(r.name))
        return {
          paint: e ? performance.timeOrigin + e.startTime : null,
          shell: nav ? performance.timeOrigin + nav.responseEnd : null,
          script: scripts.length
            ? performance.timeOrigin + Math.max(...scripts.map((r) => (r as PerformanceResourceTiming).responseEnd))
            : null,
        }
      })
      if (marks?.paint) fcp.push(marks.paint - start)
      if (marks?.shell) shell.push(marks.shell - start)
      if (marks?.script) script.push(marks.script - start)
      await page.close()
    }
  } finally {
    await browser.close()
    await host.close()
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN
  return {
    fcpMs: Math.round(median(fcp)),
    usableMs: Math.round(median(usable)),
    shellMs: Math.round(median(shell)),
    scriptMs: Math.round(median(script)),
  }
}
