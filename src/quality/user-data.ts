import { z } from 'zod'
import { EMAIL_KEYS, PHONE_KEYS } from '../mapping/map-lead.js'
import { normalizePhone } from '../mapping/phone.js'
import { answerValues } from '../tiktok/answers.js'
import { hashEmail, hashPhone } from '../tiktok-business/events-api.js'

/**
 * The hashed e-mail and phone TikTok matches a CRM event's person by, from the stored lead's
 * answers: the same answers delivery maps to EMAIL and PHONE (map-lead.ts's keys, matched as
 * loosely as there: "Phone Number" is phone_number). A lead whose answers retention already
 * emptied still sends its lead id, TikTok's main key.
 */
export function hashedUser(leadJson: string, defaultCountry: string | null): { email: string[]; phone: string[] } {
  const parsed = StoredAnswers.safeParse(safeJson(leadJson))
  const lead = { answers: parsed.success ? parsed.data.answers : [] }
  const email = new Set<string>()
  const phone = new Set<string>()
  for (const value of answerValues(lead, ...EMAIL_KEYS)) {
    const h = hashEmail(value)
    if (h) email.add(h)
  }
  for (const value of answerValues(lead, ...PHONE_KEYS)) {
    const p = normalizePhone(value, defaultCountry)
    const h = p.normalized ? hashPhone(p.value) : null
    if (h) phone.add(h)
  }
  return { email: [...email], phone: [...phone] }
}

/** The part of a stored lead this reads; anything else in it (or a broken one) is no answers. */
const StoredAnswers = z.object({
  answers: z.array(z.object({ key: z.string(), value: z.string() })).catch([]),
})

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
