import type { PageStrings as Strings } from '../settings/i18n.js'
import type { CardView, StateView, StatsView } from '../settings/schemas.js'

/** The catalogue's words for the page's language: the server's catalogue less its server-only lines (src/settings/i18n.ts). */
export type { Strings }

/** What the server renders into the page (views/settings.eta): read once, never executed. */
export interface Boot {
  lang: 'en' | 'ru' | 'vn'
  strings: Strings
  session: string
  csrf: string
  state: StateView
  /** the overview's counters and chart when the page was rendered */
  stats: StatsView
  leadUrlTemplate: string
}

/** What a card tab's page carries instead (views/card.eta): one Bitrix24 record's TikTok story. */
export interface CardBoot {
  lang: Boot['lang']
  strings: Strings
  session: string
  csrf: string
  /** the story when the page was rendered (GET /api/settings/card answers it again) */
  card: CardView
}

export function readBoot(): Boot | CardBoot {
  const el = document.getElementById('boot')
  if (!el?.textContent) throw new Error('the page carries no #boot state')
  return JSON.parse(el.textContent) as Boot | CardBoot
}

/** A card tab's page (CRM_LEAD_DETAIL_TAB, CRM_DEAL_DETAIL_TAB), not the settings tab. */
export function isCardBoot(boot: Boot | CardBoot): boot is CardBoot {
  return 'card' in boot
}

/** `{name}` placeholders filled from `values` (the server's catalogue uses the same form). */
export function fmt(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? String(values[key]) : whole))
}
