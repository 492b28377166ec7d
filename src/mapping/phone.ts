import { parsePhoneNumberFromString, type CountryCode, isSupportedCountry } from 'libphonenumber-js'

/**
 * A lead's phone as E.164 when it can be read, else exactly as the person typed it (trimmed).
 * TikTok fixes no phone format (`15088888888`, `0912345678` are both seen), and a lead is never
 * dropped or rejected over its phone.
 *
 * Order of attempts:
 * 1. as written, with `defaultCountry` for numbers without `+` (or `00` / trunk prefixes) — used if valid;
 * 2. a bare digit string that is not valid in the default country is tried as international
 *    (`79161234567` → +7 916 …), as the research recommends — used if valid;
 * 3. the first reading again if it is merely possible (right length for the country);
 * 4. otherwise the raw value, `normalized: false`.
 * With no default country, numbers without `+` stay as given (there is nothing to read them by).
 *
 * @see https://business-api.tiktok.com/portal/docs (Lead Generation: phone_number as typed)
 */
export function normalizePhone(raw: string, defaultCountry: string | null): { value: string; normalized: boolean } {
  const value = raw.trim()
  if (value === '') return { value, normalized: false }
  const country =
    defaultCountry && isSupportedCountry(defaultCountry.toUpperCase())
      ? (defaultCountry.toUpperCase() as CountryCode)
      : undefined
  const international = value.startsWith('+')
  if (!international && !country) return { value, normalized: false }

  const asWritten = parsePhoneNumberFromString(value, country)
  if (asWritten?.isValid()) return { value: asWritten.number, normalized: true }

  const digits = value.replace(/[\s().-]/g, '')
  if (!international && /^[1-9]\d{6,14}$/.test(digits)) {
    const asInternational = parsePhoneNumberFromString(`+${digits}`)
    if (asInternational?.isValid()) return { value: asInternational.number, normalized: true }
  }

  if (asWritten?.isPossible()) return { value: asWritten.number, normalized: true }
  return { value, normalized: false }
}
