import { z } from 'zod'
import { fmt, pickLang, STRINGS } from '../settings/i18n.js'
import type { AlertKind } from './kinds.js'

/** What an alert says, stored as its state's `detail` (JSON) and read back through this schema. */
export const AlertDetail = z.object({
  names: z.string().optional(),
  why: z.string().optional(),
  n: z.number().int().optional(),
  error: z.string().optional(),
  hours: z.number().optional(),
})
export type AlertDetail = z.infer<typeof AlertDetail>

export function parseDetail(detail: string | null): AlertDetail {
  try {
    const parsed = AlertDetail.safeParse(JSON.parse(detail ?? '{}'))
    return parsed.success ? parsed.data : {}
  } catch {
    return {}
  }
}

/** BB-code has no escaping: square brackets in text we did not write would become tags. */
function plain(text: string, max = 300): string {
  const t = text.replace(/[[\]]/g, (c) => (c === '[' ? '(' : ')'))
  return t.length > max ? `${t.slice(0, max - 1)}…` : t
}

/**
 * Where the alert's link goes: the CRM list whose "TikTok leads" menu opens the app's tab (the
 * placement bound at install: the lead list, or the deal list in simple CRM mode). The app's own
 * page (Applications) has an address with the portal's numeric app id, which the app does not keep.
 */
export function alertLink(domain: string, simpleMode: boolean): string {
  // https, except an emulated portal on loopback (as the tab's lead links, settings/view-model.ts)
  const local = /^(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(domain)
  return `${local ? 'http' : 'https'}://${domain}/crm/${simpleMode ? 'deal' : 'lead'}/list/`
}

/** The notice in the portal's language (LANG stored at install), BB-code, with the link. */
export function alertMessage(
  kind: AlertKind,
  detail: AlertDetail,
  portal: { lang: string; domain: string; simpleMode: boolean },
  resolved = false,
): string {
  const t = STRINGS[pickLang(portal.lang)]
  if (resolved) {
    const key = `alert_resolved_${kind}` as const
    return t[key]
  }
  const link = `[url=${alertLink(portal.domain, portal.simpleMode)}]${t.alert_link}[/url]`
  switch (kind) {
    case 'tiktok_lost':
      return fmt(t.alert_tiktok_lost, { names: plain(detail.names ?? '?'), why: plain(detail.why ?? '?'), link })
    case 'leads_failing':
      return fmt(t.alert_leads_failing, { n: detail.n ?? 0, error: plain(detail.error ?? '?'), link })
    case 'lead_silence':
      return fmt(t.alert_lead_silence, { hours: detail.hours ?? 0, link })
  }
}
