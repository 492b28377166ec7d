import fp from 'fastify-plugin'
import type { DB, OpenedDatabase } from '../db/database.js'
import { createLeadRepository, type LeadRepository } from '../db/repositories/leads.js'
import { createPortalRepository, type PortalRepository } from '../db/repositories/portals.js'
import { createSettingsRepository, type SettingsRepository } from '../db/repositories/settings.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: DB
    portals: PortalRepository
    settings: SettingsRepository
    leads: LeadRepository
  }
}

/** Decorates the app with the database and its repositories; closes the database last. */
export default fp<{ database: OpenedDatabase }>(
  async (app, { database }) => {
    app.decorate('db', database.db)
    app.decorate('portals', createPortalRepository(database.db))
    app.decorate('settings', createSettingsRepository(database.db))
    app.decorate('leads', createLeadRepository(database.db))
    app.addHook('onClose', async () => {
      await database.db.destroy()
    })
  },
  { name: 'database' },
)
