import { createHash, timingSafeEqual } from 'node:crypto'
import { type Clock, isoNow, systemClock } from '../../clock.js'
import type { SecretBox } from '../../crypto/secret-box.js'
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

/** The columns that hold Bitrix24 secrets: sealed at rest, opened by this repository only. */
const SECRET_COLUMNS = ['access_token', 'refresh_token', 'application_token'] as const
type SecretColumn = (typeof SECRET_COLUMNS)[number]

/** `v1.<keyId>.<iv>.<tag>.<ciphertext>`: anything else in a secret column is a clear value from before sealing. */
const SEALED = /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

const digest = (v: string) => createHash('sha256').update(v, 'utf8').digest()

export type PortalRepository = ReturnType<typeof createPortalRepository>

/**
 * Portals with their Bitrix24 tokens. access_token, refresh_token and application_token are stored
 * sealed (AES-256-GCM, src/crypto/secret-box.ts) and handed out opened: callers never see a sealed
 * value. A clear value left from before sealing, or one sealed with a key that is no longer the
 * current one (SECRETS_KEY rotated), is re-sealed with the current key the first time it is read.
 */
export function createPortalRepository(
  db: DB,
  box: SecretBox,
  opts: {
    /** told when an uninstall purged the portal's rows */
    purged?: (memberId: string) => void
    /** what stamps installed_at / updated_at / received_at (the app's clock) */
    clock?: Clock
  } = {},
) {
  const clock = opts.clock ?? systemClock
  const nowIso = () => isoNow(clock)
  const seal = <T extends string | null | undefined>(v: T): T => (typeof v === 'string' ? (box.seal(v) as T) : v)
  const open = (v: string): string => (SEALED.test(v) ? box.open(v) : v)

  async function openRow(row: Portal): Promise<Portal> {
    const opened: Portal = { ...row }
    const resealed: Partial<Record<SecretColumn, string>> = {}
    for (const c of SECRET_COLUMNS) {
      const v = row[c]
      if (v === null) continue
      const plain = open(v)
      opened[c] = plain
      if (!SEALED.test(v) || box.isStale(v)) resealed[c] = box.seal(plain)
    }
    const columns = Object.keys(resealed) as SecretColumn[]
    if (columns.length) {
      // Compare-and-set on what was read: a token written meanwhile (a refresh) is never overwritten.
      let q = db.updateTable('portals').set(resealed).where('member_id', '=', row.member_id)
      for (const c of columns) q = q.where(c, '=', row[c])
      // Best effort: a read must not fail because the database is locked or full; the next read re-seals.
      await q.execute().catch(() => undefined)
    }
    return opened
  }

  async function findSealed(memberId: string): Promise<Portal | undefined> {
    return db.selectFrom('portals').selectAll().where('member_id', '=', memberId).executeTakeFirst()
  }

  return {
    async find(memberId: string): Promise<Portal | undefined> {
      const row = await findSealed(memberId)
      return row && openRow(row)
    },

    async list(): Promise<Portal[]> {
      const rows = await db.selectFrom('portals').selectAll().orderBy('installed_at').execute()
      return Promise.all(rows.map(openRow))
    },

    /**
     * Seal every clear value left from before tokens were sealed, and re-seal values of an old key;
     * run at start so a database copied off the server holds no usable token. Returns how many
     * portals were looked at.
     */
    async sealAll(): Promise<number> {
      const rows = await db.selectFrom('portals').selectAll().execute()
      for (const row of rows) await openRow(row)
      return rows.length
    },

    /**
     * Insert or refresh a portal with verified tokens. An install (`awaitAppToken`) forgets the old
     * application_token so the coming ONAPPINSTALL may set the new one; a re-authorisation keeps it.
     */
    async upsertInstalled(
      p: Omit<
        NewPortal,
        'installed_at' | 'updated_at' | 'state' | 'state_reason' | 'uninstalled_at' | 'application_token'
      >,
      awaitAppToken: boolean,
    ): Promise<Portal> {
      const now = nowIso()
      const access_token = seal(p.access_token)
      const refresh_token = seal(p.refresh_token)
      await db
        .insertInto('portals')
        .values({
          ...p,
          access_token,
          refresh_token,
          installed_at: now,
          updated_at: now,
          state: 'active',
          state_reason: null,
          uninstalled_at: null,
          application_token: null,
        })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet({
            domain: p.domain,
            client_endpoint: p.client_endpoint,
            server_endpoint: p.server_endpoint,
            access_token,
            refresh_token,
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
      await db
        .updateTable('portals')
        .set({ application_token: box.seal(token), updated_at: nowIso() })
        .where('member_id', '=', memberId)
        .execute()
    },

    /**
     * The app version seen on the portal (app.info VERSION) and the version the stored
     * application_token came with (null: none stored yet; undefined: unchanged).
     */
    async setAppVersion(memberId: string, version: string, tokenVersion: string | null | undefined): Promise<void> {
      await db
        .updateTable('portals')
        .set({
          app_version: version,
          ...(tokenVersion !== undefined ? { app_token_version: tokenVersion } : {}),
          updated_at: nowIso(),
        })
        .where('member_id', '=', memberId)
        .execute()
    },

    /**
     * Whether `token` is the portal's stored application_token, compared in constant time (over
     * digests, so the length does not leak either). False when none is stored.
     * @see https://apidocs.bitrix24.com/api-reference/events/safe-event-handlers.html
     */
    async applicationTokenMatches(memberId: string, token: string): Promise<boolean> {
      const row = await findSealed(memberId)
      if (!row?.application_token) return false
      return timingSafeEqual(digest(open(row.application_token)), digest(token))
    },

    /**
     * Store refreshed tokens only if the refresh token we spent is still the stored one,
     * so a late writer can never roll the portal back to a used (dead) refresh token.
     * Sealed values differ on every seal (random IV), so the compare-and-set is on the sealed
     * value read here, after checking that it opens to the spent token.
     */
    async saveRefreshedTokens(memberId: string, spentRefreshToken: string, t: TokenSet): Promise<boolean> {
      const row = await findSealed(memberId)
      if (!row?.refresh_token || row.state === 'uninstalled' || open(row.refresh_token) !== spentRefreshToken)
        return false
      const res = await db
        .updateTable('portals')
        .set({
          access_token: box.seal(t.access_token),
          refresh_token: box.seal(t.refresh_token),
          expires_at: t.expires_at,
          ...(t.scope !== undefined ? { scope: t.scope } : {}),
          ...(t.app_status !== undefined ? { app_status: t.app_status } : {}),
          state: 'active',
          state_reason: null,
          updated_at: nowIso(),
        })
        .where('member_id', '=', memberId)
        .where('refresh_token', '=', row.refresh_token)
        .where('state', '!=', 'uninstalled')
        .executeTakeFirst()
      return Number(res.numUpdatedRows) === 1
    },

    /** The portal's CRM mode (crm.settings.mode.get: 1 classic, 2 simple) and when it was asked (unix ms). */
    async setCrmMode(memberId: string, mode: 1 | 2, checkedAt: number): Promise<void> {
      await db
        .updateTable('portals')
        .set({ crm_mode: mode, crm_mode_checked_at: checkedAt })
        .where('member_id', '=', memberId)
        .execute()
    },

    async setState(memberId: string, state: PortalState, reason: string | null): Promise<void> {
      await db
        .updateTable('portals')
        .set({ state, state_reason: reason, updated_at: nowIso() })
        .where('member_id', '=', memberId)
        .execute()
    },

    /** Uninstall without CLEAN: tokens are gone (they no longer work), the portal's data stays. */
    async markUninstalled(memberId: string): Promise<void> {
      const now = nowIso()
      await db
        .updateTable('portals')
        .set({
          state: 'uninstalled',
          state_reason: 'The app was uninstalled from the portal',
          access_token: null,
          refresh_token: null,
          expires_at: 0,
          application_token: null,
          uninstalled_at: now,
          updated_at: now,
        })
        .where('member_id', '=', memberId)
        .execute()
    },

    /** Uninstall with CLEAN: everything of the portal goes (child tables cascade; `opts.purged` then re-counts its leads). */
    async purge(memberId: string): Promise<void> {
      await db.deleteFrom('portals').where('member_id', '=', memberId).execute()
      opts.purged?.(memberId)
    },

    async recordEvent(memberId: string, event: string, payload: unknown): Promise<void> {
      await db
        .insertInto('portal_events')
        .values({ member_id: memberId, event, payload: JSON.stringify(payload), received_at: nowIso() })
        .execute()
    },
  }
}
