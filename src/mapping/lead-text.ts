import type { NormalizedLead } from '../tiktok/schemas.js'

/**
 * The lead's free-text fields: SOURCE_DESCRIPTION and COMMENTS, written from the answers and the
 * TikTok ids so a manager sees everything the form collected.
 */

export function sourceDescription(lead: NormalizedLead): string {
  const parts = ['TikTok Lead Generation']
  const form = lead.formName ?? lead.formId
  const ad = lead.adName ?? lead.adId
  if (form) parts.push(`form ${form}`)
  if (ad) parts.push(`ad ${ad}`)
  return parts.join(' · ')
}

/**
 * Every answer as "Question: answer" lines, then the TikTok ids. COMMENTS is rendered as
 * BB-code/HTML by Bitrix24, so answer text is escaped (& < >) to stay text.
 */
export function comments(lead: NormalizedLead): string {
  const lines: string[] = []
  for (const a of lead.answers) {
    if (a.value.trim() === '') continue
    lines.push(`${escapeHtml(questionLabel(a.key))}: ${escapeHtml(a.value)}`)
  }
  const ids: string[] = [`TikTok lead ID: ${escapeHtml(lead.leadId)}`]
  const named = (label: string, name: string | null, id: string | null) => {
    if (name && id) ids.push(`${label}: ${escapeHtml(name)} (ID ${escapeHtml(id)})`)
    else if (name || id) ids.push(`${label}: ${escapeHtml((name ?? id) as string)}`)
  }
  if (lead.createdAt) ids.push(`Created: ${lead.createdAt}`)
  named('Form', lead.formName, lead.formId)
  if (lead.pageId && lead.pageId !== lead.formId) named('Page', lead.pageName, lead.pageId)
  named('Advertiser', lead.advertiserName, lead.advertiserId)
  named('Campaign', lead.campaignName, lead.campaignId)
  named('Ad group', lead.adgroupName, lead.adgroupId)
  named('Ad', lead.adName, lead.adId)
  return lines.length ? `${lines.join('\n')}\n\n${ids.join('\n')}` : ids.join('\n')
}

/** "phone_number" → "Phone number"; a custom question's own text is left as written. */
function questionLabel(key: string): string {
  const oneLine = key.replace(/\s+/g, ' ').trim()
  if (!/^[a-z0-9_]+$/.test(oneLine)) return oneLine
  const words = oneLine.replace(/_+/g, ' ').trim()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
