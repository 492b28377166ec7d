import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { isBusyError, isStorageError } from '../db/database.js'
import { AppError, B24Error, Errors } from '../errors.js'

/** Seconds a client should wait after a busy database (a lock is held for moments) or a storage failure (a disk gets freed by a person). */
export const RETRY_AFTER_BUSY_S = 2
export const RETRY_AFTER_STORAGE_S = 60

/** What the request part is called in a validation message ("invalid body (member_id: …)"). */
const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'headers' }

/**
 * A route schema refused the request (the zod type provider): a 400 naming up to five bad
 * fields, as when the routes parsed their input themselves (src/validation.ts).
 */
function validationError(err: FastifyError): AppError {
  const what = PART_NAMES[err.validationContext ?? 'body'] ?? 'request'
  const detail = (err.validation ?? [])
    .slice(0, 5)
    .map((v) => `${v.instancePath.length > 1 ? v.instancePath.slice(1).replaceAll('/', '.') : what}: ${v.message}`)
    .join('; ')
  return Errors.badRequest(`invalid ${what} (${detail})`)
}

/** Sorts anything thrown into an app error; what is not one already becomes the fixed 500. */
function toAppError(err: unknown, request: FastifyRequest): AppError {
  if (err instanceof AppError) return err
  if (err instanceof B24Error) {
    // A page or action that needed the portal, and the portal said no (or nothing): say so.
    request.log.warn(
      { code: err.code, b24Code: err.b24Code, kind: err.kind, reason: err.message },
      'Bitrix24 call failed',
    )
    return err.kind === 'reauth_required' || err.kind === 'not_installed'
      ? Errors.upstreamRefused(err.message)
      : Errors.upstream(err.message)
  }
  // SQLite could not write: answer 503 with Retry-After at once (TikTok and Bitrix24 retry),
  // and log SQLite's own code (SQLITE_FULL, SQLITE_BUSY…), not whatever came after it.
  if (isBusyError(err)) {
    request.log.warn({ code: (err as { code?: string }).code }, 'database busy: answered 503')
    return Errors.databaseBusy()
  }
  if (isStorageError(err)) {
    request.log.error({ err, code: (err as { code?: string }).code }, 'database cannot write: answered 503')
    return Errors.databaseUnavailable()
  }
  if (hasZodFastifySchemaValidationErrors(err)) return validationError(err as FastifyError)
  const e = err as { statusCode?: number; code?: string; message?: string }
  const status = e.statusCode ?? 500
  if (status === 413) return Errors.bodyTooLarge()
  // Fastify's own refusals (unreadable JSON, a content type no parser takes…) keep their FST_ERR_* code.
  if (status >= 400 && status < 500) {
    const fallback = Errors.badRequest()
    return new AppError(e.code ?? fallback.code, status, e.message ?? fallback.message)
  }
  // The real error stays in the log, with the request it failed: its message may name anything.
  request.log.error({ err, method: request.method, route: request.routeOptions.url }, 'unhandled error')
  return Errors.internal()
}

function send(reply: FastifyReply, e: AppError): FastifyReply {
  if (e.statusCode >= 500) return reply.code(e.statusCode).send({ error: e.code, message: e.phrase })
  return reply.code(e.statusCode).send({ error: e.code, message: e.message, ...e.extra })
}

/**
 * One error shape for every route: `{ error: CODE, message }`, codes from src/errors.ts. Clients
 * see messages only below 500; from 500 up the error is logged with its request and answered
 * with its catalogue's fixed phrase.
 */
export default fp(
  async (app) => {
    app.setErrorHandler((err, request, reply) => {
      const e = toAppError(err, request)
      // What toAppError sorted it logged where that matters; the app's own errors are logged here.
      if (e === err || hasZodFastifySchemaValidationErrors(err)) {
        if (e.statusCode >= 500)
          request.log.error({ err, method: request.method, route: request.routeOptions.url }, 'request failed')
        else request.log.info({ code: e.code, status: e.statusCode }, e.message)
      }
      if (e.code === Errors.databaseBusy.code) reply.header('retry-after', String(RETRY_AFTER_BUSY_S))
      if (e.code === Errors.databaseUnavailable.code) reply.header('retry-after', String(RETRY_AFTER_STORAGE_S))
      return send(reply, e)
    })
    app.setNotFoundHandler((request, reply) =>
      send(reply, Errors.notFound(`no route for ${request.method} ${request.url.split('?')[0]}`)),
    )
  },
  { name: 'error-handler' },
)
