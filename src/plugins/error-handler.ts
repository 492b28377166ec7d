import fp from 'fastify-plugin'
import { AppError } from '../errors.js'

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
      const e = err as { statusCode?: number; code?: string; message?: string }
      const status = e.statusCode ?? 500
      if (status === 413) return reply.code(413).send({ error: 'APP_ERR_BODY_TOO_LARGE', message: 'Request body is too large' })
      if (status >= 400 && status < 500) {
        return reply.code(status).send({ error: e.code ?? 'APP_ERR_BAD_REQUEST', message: e.message ?? 'Bad request' })
      }
      request.log.error({ err }, 'unhandled error')
      return reply.code(500).send({ error: 'APP_ERR_INTERNAL', message: 'Internal error' })
    })
    app.setNotFoundHandler((request, reply) => {
      reply.code(404).send({ error: 'APP_ERR_NOT_FOUND', message: `No route for ${request.method} ${request.url.split('?')[0]}` })
    })
  },
  { name: 'error-handler' },
)
