import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { isSchemaCurrent } from '../db/migrate.js'

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  // Liveness: the process answers. Nothing else is checked so a slow disk cannot get it killed.
  app.get('/health', async () => ({ status: 'ok' }))

  // Readiness: the database answers and every migration has run.
  app.get('/ready', async (_req, reply) => {
    try {
      await sql`select 1`.execute(app.db)
      if (!(await isSchemaCurrent(app.db)))
        return reply.code(503).send({ status: 'not_ready', reason: 'migrations pending' })
      return { status: 'ready' }
    } catch (err) {
      app.log.error({ err }, 'readiness check failed')
      return reply.code(503).send({ status: 'not_ready', reason: 'database unavailable' })
    }
  })
}
