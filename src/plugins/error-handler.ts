import fp from 'fastify-plugin'
import { B24Error } from '../bitrix24/client.js'
import { isBusyError, isStorageError } from '../db/database.js'
import { AppError, Errors } from '../errors.js'

/** Seconds a client should wait after a busy database (a lock is held for moments) or a storage failure (a disk gets freed by a person). */
export const RETRY_AFTER_BUSY_S = 2
export const RETRY_AFTER_STORAGE_S = 60

/**
 * One error shape for every route: `{ error: CODE, message }`. Clients see messages only below 500;
 * anything else is logged with its request and answered with a fixed phrase.
 */
export default fp(
  async (app) => {
    app.setErrorHandler((err, request, reply) => {
      if (err instanceof AppError) {
        if (err.statusCode >= 500) request.log.error({ err }, 'request failed')
        else request.log.info({ code: err.code, status: err.statusCode }, err.message)
        return reply.code(err.statusCode).send({ error: err.code, message: err.message })
      }
      if (err instanceof B24Error) {
        // A page or action that needed the portal, and the portal said no (or nothing): say so.
        request.log.warn({ code: err.code, kind: err.kind }, 'Bitrix24 call failed')
        const status = err.kind === 'reauth_required' || err.kind === 'not_installed' ? 409 : 502
        return reply
          .code(status)
          .send({ error: 'APP_ERR_UPSTREAM', message: `Bitrix24 did not complete the request: ${err.message}` })
      }
      // SQLite could not write: answer 503 with Retry-After at once (TikTok and Bitrix24 retry),
      // and log SQLite's own code (SQLITE_FULL, SQLITE_BUSY…), not whatever came after it.
      if (isBusyError(err)) {
        const e = Errors.databaseBusy()
        request.log.warn({ code: (err as { code?: string }).code }, 'database busy: answered 503')
        return reply
          .code(e.statusCode)
          .header('retry-after', String(RETRY_AFTER_BUSY_S))
          .send({ error: e.code, message: e.message })
      }
      if (isStorageError(err)) {
        const e = Errors.databaseUnavailable()
        request.log.error({ err, code: (err as { code?: string }).code }, 'database cannot write: answered 503')
        return reply
          .code(e.statusCode)
          .header('retry-after', String(RETRY_AFTER_STORAGE_S))
          .send({ error: e.code, message: e.message })
      }
      const e = err as { statusCode?: number; code?: string; message?: string }
      const status = e.statusCode ?? 500
      if (status === 413)
        return reply.code(413).send({ error: 'APP_ERR_BODY_TOO_LARGE', message: 'Request body is too large' })
      if (status >= 400 && status < 500) {
        return reply.code(status).send({ error: e.code ?? 'APP_ERR_BAD_REQUEST', message: e.message ?? 'Bad request' })
      }
      request.log.error({ err }, 'unhandled error')
      return reply.code(500).send({ error: 'APP_ERR_INTERNAL', message: 'Internal error' })
    })
    app.setNotFoundHandler((request, reply) => {
      reply
        .code(404)
        .send({ error: 'APP_ERR_NOT_FOUND', message: `No route for ${request.method} ${request.url.split('?')[0]}` })
    })
  },
  { name: 'error-handler' },
)
