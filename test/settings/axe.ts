/**
 * axe-core in a tab's frame, for every browser test that checks accessibility (kit-a11y.test.ts
 * on the settings tab, kit-card.test.ts on the card tab): WCAG 2.0/2.1 A and AA plus axe's best
 * practices, every serious or critical violation one line, b24ui's own colour choices and reka-ui's
 * modal hiding (KNOWN, each with its reason) aside. One runner and one list of exceptions, so an
 * exception granted for one tab is granted, and reviewed, for all.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Frame } from 'playwright-core'
import { settled } from './browser-harness.js'

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

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
export const KNOWN: Array<{ rule: string; selector: string; why: string }> = [
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
 * axe-core on the frame's document once it is still (a colour read mid-transition is not the one
 * the user sees): the serious and critical violations, one line per element (every violation,
 * minor ones and known ones too, with its markup goes to `report` for reading).
 */
export async function axe(frame: Frame, report?: string): Promise<string[]> {
  await settled(frame)
  // page.addScriptTag would add an inline <script>, which the page's CSP (script-src 'self') blocks
  // (it throws, and the page logs a CSP violation); playwright's evaluate runs through the devtools
  // protocol, which CSP does not govern, so the library is evaluated from its source instead.
  if (!(await frame.evaluate(() => 'axe' in window))) await frame.evaluate(AXE_SOURCE)
  const violations = await frame.evaluate(async (known) => {
    const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<unknown> } }).axe
    const res = (await axe.run(document, {
      runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
      // Only the violations are read: axe then builds no selector for every passing element,
      // the slow tail of a run on a large page (each violation still lists all its elements).
      resultTypes: ['violations'],
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
