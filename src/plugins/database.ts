import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { secretBoxFor, type SecretBox } from '../crypto/secret-box.js'
import type { DB, OpenedDatabase } from '../db/database.js'
import { createLeadStatsRepository, type LeadStatsRepository } from '../db/repositories/lead-stats.js'
import { createLeadRepository, type LeadRepository } from '../db/repositories/leads.js'
import { createPortalRepository, type PortalRepository } from '../db/repositories/portals.js'
import { createSettingsRepository, type SettingsRepository } from '../db/repositories/settings.js'
import { LeadCounts } from '../metrics/lead-counts.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: DB
    /** the one box that seals tokens at rest (Bitrix24 portals, TikTok connections) */
    secretBox: SecretBox
    portals: PortalRepository
    settings: SettingsRepository
    leads: LeadRepository
    /** the settings tab's statistics over the leads (reads only) */
    leadStats: LeadStatsRepository
    /** leads per portal and status, kept as the lead repository writes (what /metrics serves) */
    leadCounts: LeadCounts
  }
}

/**
 * Decorates the app with the database, the secret box, the repositories and the lead counts that
 * /metrics serves (seeded here by one grouped count); closes the database last.
 * At start, any Bitrix24 token or webhook signing secret still stored in clear (written before
 * sealing) or sealed with an old key is sealed with the current one.
 */
export default fp<{ database: OpenedDatabase; config: Pick<Config, 'SECRETS_KEY' | 'DATABASE_PATH'> }>(
  async (app, { database, config }) => {
    const box = secretBoxFor(config.SECRETS_KEY, config.DATABASE_PATH)
    // One grouped count now; from here on the repositories report each change.
    const leadCounts = new LeadCounts(database.sqlite)
    leadCounts.seed()
    // A CLEAN uninstall cascades to the portal's leads: re-count it (no rows: its series go).
    const portals = createPortalRepository(database.db, box, {
      purged: (memberId) => leadCounts.stale(memberId),
      clock: app.clock,
    })
    app.decorate('db', database.db)
    app.decorate('secretBox', box)
    app.decorate('portals', portals)
    const settings = createSettingsRepository(database.db, box, app.clock)
    app.decorate('settings', settings)
    app.decorate('leadCounts', leadCounts)
    app.decorate('leads', createLeadRepository(database.db, { counts: leadCounts, clock: app.clock }))
    app.decorate('leadStats', createLeadStatsRepository(database.db))
    await portals.sealAll()
    await settings.sealAll()
    app.addHook('onClose', async () => {
      await database.db.destroy()
    })
  },
  { name: 'database' },
)
