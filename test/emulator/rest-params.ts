/**
 * How a REST request's method name and parameters are read: the query string and the body
 * (form-encoded PHP-style or JSON, as b24jssdk sends it with `auth` inside the JSON), body
 * winning. Method names are case-insensitive.
 * @see settings/how-to-call-rest-api/general-principles.md, data-encoding.md
 */
import type { FastifyRequest } from 'fastify'
import { isPlainObject, parsePhpQuery, type PhpMap } from './php-query.js'

export function normalizeMethod(raw: string): string {
  return raw
    .replace(/^\/+/, '')
    .replace(/\.(json|xml)$/i, '')
    .trim()
    .toLowerCase()
}

function parseBody(contentType: string | undefined, body: unknown): PhpMap {
  if (typeof body !== 'string' || body.trim() === '') return {}
  if (contentType?.toLowerCase().includes('json')) {
    try {
      const parsed: unknown = JSON.parse(body)
      return isPlainObject(parsed) ? parsed : {}
    } catch {
      return {}
    }
  }
  return parsePhpQuery(body)
}

/** Query + body, the body winning, like PHP's $_REQUEST. */
export function requestParams(request: FastifyRequest): PhpMap {
  const rawUrl = request.raw.url ?? ''
  const q = rawUrl.indexOf('?')
  const query = q >= 0 ? parsePhpQuery(rawUrl.slice(q + 1)) : {}
  return { ...query, ...parseBody(request.headers['content-type'], request.body) }
}
