import { normalizePhone } from './phone.js'

/**
 * PHONE and EMAIL entries: Bitrix24 multifields, `[{VALUE, VALUE_TYPE}]`, one per distinct value.
 */

export interface MultifieldValue {
  VALUE: string
  VALUE_TYPE: string
}

export const VALUE_TYPE = 'WORK'

export function phoneEntry(raw: string, defaultCountry: string | null, warnings: string[]): MultifieldValue {
  const phone = normalizePhone(raw, defaultCountry)
  if (!phone.normalized) {
    warnings.push(
      defaultCountry || raw.trim().startsWith('+')
        ? `Phone ${JSON.stringify(raw)} is not a recognisable number; kept as given`
        : `Phone ${JSON.stringify(raw)} kept as given: no default country is set to read it by`,
    )
  }
  return { VALUE: phone.value, VALUE_TYPE }
}

export function dedupeMultifield(values: MultifieldValue[]): MultifieldValue[] {
  const seen = new Set<string>()
  return values.filter((v) => {
    const key = v.VALUE.toLowerCase()
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
