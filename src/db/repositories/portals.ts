import type { DB } from '../database.js'
import type { NewPortal, Portal, PortalState } from '../schema.js'

export interface TokenSet {
  access_token: string
  refresh_token: string
  /** unix seconds */
  expires_at: number
  scope?: string
  client_endpoint?: string
  server_endpoint?: string
  app_status?: string
}

const nowIso = () => new Date().toISOString()

export type PortalRepository = ReturnType<typeof createPortalRepository>

export function createPortalRepository(db: DB) {
  return {
    async find(memberId: string): Promise<Portal | undefined> {
      return db.selectFrom('portals').selectAll().where('member_id', '=', memberId).executeTakeFirst()
    },

    async list(): Promise<Portal[]> {
      return db.selectFrom('portals').selectAll().orderBy('installed_at').execute()
    },

    /**
     * Insert or refresh a portal with verified tokens. An install (`awaitAppToken`) forgets the old
     * application_token so the coming ONAPPINSTALL may set the new one; a re-authorisation keeps it.
     */
    async upsertInstalled(p: Omit<NewPortal, 'installed_at' | 'updated_at' | 'state' | 'state_reason' | 'uninstalled_at' | 'application_token'>, awaitAppToken: boolean): Promise<Portal> {
      const now = nowIso()
      await db
        .insertInto('portals')
        .values({ ...p, installed_at: now, updated_at: now, state: 'active', state_reason: null, uninstalled_at: null, application_token: null })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet({
            domain: p.domain,
            client_endpoint: p.client_endpoint,
            server_endpoint: p.server_endpoint,
            access_token: p.access_token,
            refresh_token: p.refresh_token,
            expires_at: p.expires_at,
            scope: p.scope,
            app_status: p.app_status,
            lang: p.lang,
            installer_user_id: p.installer_user_id,
            state: 'active',
            state_reason: null,
            uninstalled_at: null,
            updated_at: now,
            ...(awaitAppToken ? { application_token: null } : {}),
          }),
        )
        .execute()
      return (await this.find(p.member_id))!
    },

    async setApplicationToken(memberId: string, token: string): Promise<void> {
      await db.updateTable('portals').set({ application_token: token, updated_at: nowIso() }).where('member_id', '=', memberId).execute()
    },

    /**
     * Store refreshed tokens only if the refresh token we spent is still the stored one,
     * so a late writer can never roll the portal back to a used (dead) refresh token.
     */
    async saveRefreshedTokens(memberId: string, spentRefreshToken: string, t: TokenSet): Promise<boolean> {
      const res = await db
        .updateTable('portals')
        .set({
          access_token: t.access_token,
          refresh_token: t.refresh_token,
          expires_at: t.expires_at,
          ...(t.scope !== undefined ? { scope: t.scope } : {}),
          ...(t.app_status !== undefined ? { app_status: t.app_status } : {}),
          state: 'active',
          state_reason: null,
          updated_at: nowIso(),
        })
        .where('member_id', '=', memberId)
        .where('refresh_token', '=', spentRefreshToken)
        .where('state', '!=', 'uninstalled')
        .executeTakeFirst()
      return Number(res.numUpdatedRows) === 1
    },

    async setState(memberId: string, state: PortalState, reason: string | null): Promise<void> {
      await db.updateTable('portals').set({ state, state_reason: reason, updated_at: nowIso() }).where('member_id', '=', memberId).execute()
    },

    /** Uninstall without CLEAN: tokens are gone (they no longer work), the portal's data stays. */
    async markUninstalled(memberId: string): Promise<void> {
      const now = nowIso()
      await db
        .updateTable('portals')
        .set({ state: 'uninstalled', state_reason: 'The app was uninstalled from the portal', access_token: null, refresh_token: null, expires_at: 0, application_token: null, uninstalled_at: now, updated_at: now })
        .where('member_id', '=', memberId)
        .execute()
    },

    /** Uninstall with CLEAN: everything of the portal goes (child tables cascade). */
    async purge(memberId: string): Promise<void> {
      await db.deleteFrom('portals').where('member_id', '=', memberId).execute()
    },

    async recordEvent(memberId: string, event: string, payload: unknown): Promise<void> {
      await db.insertInto('portal_events').values({ member_id: memberId, event, payload: JSON.stringify(payload), received_at: nowIso() }).execute()
    },
  }
}
