import { stringify, type IStringifyOptions } from 'qs'

/** PHP-style nested keys; the platform's encodeURIComponent instead of qs's much slower JS encoder (PHP decodes both alike). */
const OPTIONS: IStringifyOptions = { encoder: (s: unknown) => encodeURIComponent(String(s)) }

/**
 * One `batch` command: `method?fields[TITLE]=…&fields[PHONE][0][VALUE]=…`.
 * @see https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html
 */
export function batchCommand(method: string, params: Record<string, unknown> = {}): string {
  const query = stringify(params, OPTIONS)
  return query ? `${method}?${query}` : method
}
