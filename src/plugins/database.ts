import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { secretBoxFor, type SecretBox } from '../crypto/secret-box.js'
import type { DB, OpenedDatabase } from '../db/database.js'
import { createLeadRepository, type LeadRepository } from '../db/repositories/leads.js'
import { createPortalRepository, type PortalRepository } from '../db/repositories/portals.js'
import { createSettingsRepository, type SettingsRepository } from '../db/repositories/settings.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: DB
    /** the one box that seals tokens at rest (Bitrix24 portals, TikTok connections) */
    secretBox: SecretBox
    portals: PortalRepository
    settings: SettingsRepository
    leads: LeadRepository
  }
}

/**
 * Decorates the app with the database, the secret box and the repositories; closes the database last.
 * At start, any Bitrix24 token or webhook signing secret still stored in clear (written before
 * sealing) or sealed with an old key is sealed with the current one.
 */
export default fp<{ database: OpenedDatabase; config: Pick<Config, 'SECRETS_KEY' | 'DATABASE_PATH'> }>(
  async (app, { database, config }) => {
    const box = secretBoxFor(config.SECRETS_KEY, config.DATABASE_PATH)
    const portals = createPortalRepository(database.db, box)
    app.decorate('db', database.db)
    app.decorate('secretBox', box)
    app.decorate('portals', portals)
    const settings = createSettingsRepository(database.db, box)
    app.decorate('settings', settings)
    app.decorate('leads', createLeadRepository(database.db))
    await portals.sealAll()
    await settings.sealAll()
    app.addHook('onClose', async () => {
      await database.db.destroy()
    })
  },
  { name: 'database' },
)
