import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import { effectiveMode } from '../bitrix24/crm-mode.js'
import type { Config } from '../config.js'
import { createFieldsCache } from '../settings/portal-data.js'
import { createSessionSigner, type SessionSigner } from '../settings/session.js'

export type FieldsCache = ReturnType<typeof createFieldsCache>

declare module 'fastify' {
  interface FastifyInstance {
    /** signs the settings page's session tokens and checks them on every API call */
    sessions: SessionSigner
    /** each portal's CRM fields, read for the mapping editor and checked against by the mapping */
    portalFields: FieldsCache
  }
}

/**
 * What the settings page and its API routes share: one session key (the page signs, the API
 * verifies) and one fields cache (creating a field forgets it, so the editor sees the field).
 */
export default fp(
  async (app, { config }: { config: Pick<Config, 'SESSION_SECRET'> }) => {
    // Without SESSION_SECRET, sessions last until a restart (config warns about it).
    const secret = config.SESSION_SECRET ?? randomBytes(32).toString('hex')
    app.decorate(
      'sessions',
      createSessionSigner(secret, undefined, () => app.clock.now()),
    )
    // The editor's target fields follow the portal's CRM mode (lead fields, or contact and deal fields).
    app.decorate(
      'portalFields',
      createFieldsCache(
        app.b24,
        async (memberId) => effectiveMode((await app.portals.find(memberId)) ?? { crm_mode: null }),
        () => app.clock.now(),
      ),
    )
  },
  { name: 'settings-tab', dependencies: ['database', 'bitrix24'] },
)
