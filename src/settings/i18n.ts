/**
 * The settings tab's words. The page is server-rendered with `strings(lang)` and the same record
 * is embedded for the page's script, so every key is present in every language: English is the
 * base and names the keys, Russian and Vietnamese are complete (each typed `Strings`, so a key
 * missing in either fails to compile; no language falls back to English).
 *
 * Placeholders are `{name}`; the page's script fills them.
 *
 * @see https://apidocs.bitrix24.com/settings/app-installation/index.html (LANG in the frame query)
 */

import { en, type Strings } from './i18n/en.js'
import { ru } from './i18n/ru.js'
import { vn } from './i18n/vn.js'

export type Lang = 'en' | 'ru' | 'vn'

export const LANGS: readonly Lang[] = ['en', 'ru', 'vn']

export type { StringKey, Strings } from './i18n/en.js'

/** Every language's full record. */
export const STRINGS: Record<Lang, Strings> = { en, ru, vn }

/**
 * The page's language from the portal's LANG (the frame query's, else the one stored at install).
 *
 * - `ru` → Russian.
 * - `kz`, `by` → Russian: Bitrix24's Kazakh and Belarusian portals run a Russian interface by
 *   default and Russian is an official language in both countries.
 * - `ua` → English: Bitrix24 has its own Ukrainian interface, and Russian is not a safe default
 *   for Ukrainian users. (Add `ua` here when the page is translated.)
 * - `vn` (Bitrix24's code for Vietnamese; `vi` accepted too) → Vietnamese.
 * - anything else, empty or malformed → English.
 */
export function pickLang(portalLang: string | undefined | null): Lang {
  const code = (portalLang ?? '').trim().toLowerCase().slice(0, 2)
  switch (code) {
    case 'ru':
    case 'kz':
    case 'by':
      return 'ru'
    case 'vn':
    case 'vi':
      return 'vn'
    default:
      return 'en'
  }
}

/** The record the page is rendered with (a copy: callers may not change the shared one). */
export function strings(lang: Lang): Record<string, string> {
  return { ...STRINGS[lang] }
}

/**
 * Keys only the server fills: the install and TikTok callback pages and the problem and TikTok
 * status lines, which reach the tab already written (in the state's `problems`, the TikTok view).
 */
const SERVER_ONLY = /^(install_|ttcb_|problem_|tt_status_|alert_)/

type ServerOnlyKey = Extract<
  keyof Strings,
  `install_${string}` | `ttcb_${string}` | `problem_${string}` | `tt_status_${string}` | `alert_${string}`
>
/** The words the tab's script gets (src/web/boot.ts): using a server-only key there fails to compile. */
export type PageStrings = Omit<Strings, ServerOnlyKey>

/** What the tab's script needs: the catalogue without the server's own lines (a smaller page). */
export function pageStrings(lang: Lang): Record<string, string> {
  return Object.fromEntries(Object.entries(STRINGS[lang]).filter(([key]) => !SERVER_ONLY.test(key)))
}

/** `{name}` placeholders filled from `values` (unknown ones kept as written). */
export function fmt(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (all, key: string) => (key in values ? String(values[key]) : all))
}
