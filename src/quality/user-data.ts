import { normalizePhone } from '../mapping/phone.js'
import { hashEmail, hashPhone } from '../tiktok-business/events-api.js'

/**
 * The hashed e-mail and phone TikTok matches a CRM event's person by, from the stored lead's
 * answers (the same keys delivery maps to EMAIL and PHONE in src/mapping/map-lead.ts). A lead
 * whose answers retention already emptied still sends its lead id, TikTok's main key.
 */
const PHONE_KEYS = new Set(['phone_number', 'phone', 'work_phone_number'])
const EMAIL_KEYS = new Set(['email', 'work_email'])

export function hashedUser(leadJson: string, defaultCountry: string | null): { email: string[]; phone: string[] } {
  let answers: unknown
  try {
    answers = (JSON.parse(leadJson) as { answers?: unknown }).answers
  } catch {
    return { email: [], phone: [] }
  }
  const email = new Set<string>()
  const phone = new Set<string>()
  for (const a of Array.isArray(answers) ? answers : []) {
    const key = typeof a?.key === 'string' ? a.key : ''
    const value = typeof a?.value === 'string' ? a.value : ''
    if (!value.trim()) continue
    if (EMAIL_KEYS.has(key)) {
      const h = hashEmail(value)
      if (h) email.add(h)
    } else if (PHONE_KEYS.has(key)) {
      const p = normalizePhone(value, defaultCountry)
      const h = p.normalized ? hashPhone(p.value) : null
      if (h) phone.add(h)
    }
  }
  return { email: [...email], phone: [...phone] }
}
