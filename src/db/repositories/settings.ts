import { randomBytes } from 'node:crypto'
import { type Clock, isoNow, systemClock } from '../../clock.js'
import type { SecretBox } from '../../crypto/secret-box.js'
import type { DB } from '../database.js'
import type { PortalSettings, PortalSettingsUpdate } from '../schema.js'

/** 32 random bytes, URL-safe: unguessable webhook keys and signing secrets. */
export const newSecret = () => randomBytes(32).toString('base64url')

export type SettingsRepository = ReturnType<typeof createSettingsRepository>

export type SettingsPatch = Pick<
  PortalSettingsUpdate,
  'verify_mode' | 'rate_per_s' | 'dedup_policy' | 'default_country' | 'mapping_json' | 'retention_days' | 'name_order'
> & {
  // Speed-to-lead (validated by OptionsBody): stored as 0/1 and a JSON list.
  notify_responsible?: boolean
  todo_minutes?: number | null
  todo_pings?: number[]
  alert_silence_hours?: number | null
}

/** The to-do reminders as stored (a JSON list of minutes before the deadline); a value that no longer parses reads as none. */
export function todoPingsOf(conf: Pick<PortalSettings, 'todo_pings'>): number[] {
  try {
    const v: unknown = JSON.parse(conf.todo_pings)
    return Array.isArray(v) ? v.filter((x): x is number => Number.isInteger(x) && x >= 0) : []
  } catch {
    return []
  }
}

/** Which extra command of a lead's batch failed last (null clears it): shown in the tab until one works again. */
export interface ExtrasOutcome {
  notify_error?: string | null
  todo_error?: string | null
}

const SEALED = /^v1\./

/**
 * The webhook signing secrets are stored sealed (AES-256-GCM, src/crypto/secret-box.ts) and handed
 * out opened, like the portals' tokens. The webhook key stays readable: it is looked up on every
 * webhook and shown to admins as the URL.
 */
export function createSettingsRepository(db: DB, box: SecretBox, clock: Clock = systemClock) {
  const nowIso = () => isoNow(clock)
  const open = (v: string): string => (SEALED.test(v) ? box.open(v) : v)
  const opened = (row: PortalSettings | undefined): PortalSettings | undefined =>
    row && {
      ...row,
      signing_secret: open(row.signing_secret),
      previous_secret: row.previous_secret === null ? null : open(row.previous_secret),
    }

  const repo = {
    /** each portal's request rate (the plan's 2 or 5 per second), read once at start to seed the queues */
    async ratesPerPortal(): Promise<Map<string, number>> {
      const rows = await db.selectFrom('portal_settings').select(['member_id', 'rate_per_s']).execute()
      return new Map(rows.map((r) => [r.member_id, r.rate_per_s]))
    },

    async find(memberId: string): Promise<PortalSettings | undefined> {
      return opened(
        await db.selectFrom('portal_settings').selectAll().where('member_id', '=', memberId).executeTakeFirst(),
      )
    },

    /** At start: seal secrets written before sealing existed, and re-seal those of an old key. */
    async sealAll(): Promise<number> {
      const rows = await db
        .selectFrom('portal_settings')
        .select(['member_id', 'signing_secret', 'previous_secret'])
        .execute()
      let n = 0
      for (const r of rows) {
        const stale = (v: string | null) => v !== null && (!SEALED.test(v) || box.isStale(v))
        if (!stale(r.signing_secret) && !stale(r.previous_secret)) continue
        await db
          .updateTable('portal_settings')
          .set({
            signing_secret: box.seal(open(r.signing_secret)),
            previous_secret: r.previous_secret === null ? null : box.seal(open(r.previous_secret)),
          })
          .where('member_id', '=', r.member_id)
          .execute()
        n += 1
      }
      return n
    },

    /** The portal whose current webhook key this is, or whose rotated-out key still is inside its grace period. */
    async findByWebhookKey(key: string, nowMs = clock.now()): Promise<PortalSettings | undefined> {
      return opened(
        await db
          .selectFrom('portal_settings')
          .selectAll()
          .where((eb) =>
            eb.or([
              eb('webhook_key', '=', key),
              eb.and([eb('previous_webhook_key', '=', key), eb('previous_webhook_key_until', '>', nowMs)]),
            ]),
          )
          .executeTakeFirst(),
      )
    },

    /** Settings for a portal, made with a fresh webhook key and secret the first time. */
    async ensure(memberId: string): Promise<PortalSettings> {
      // Read first: every settings-page call asks, and only the first one for a portal must write.
      const existing = await repo.find(memberId)
      if (existing) return existing
      await db
        .insertInto('portal_settings')
        .values({
          member_id: memberId,
          webhook_key: newSecret(),
          signing_secret: box.seal(newSecret()),
          updated_at: nowIso(),
        })
        .onConflict((oc) => oc.column('member_id').doNothing())
        .execute()
      return (await repo.find(memberId))!
    },

    async update(memberId: string, patch: SettingsPatch): Promise<void> {
      const { notify_responsible, todo_pings, ...rest } = patch
      const set: PortalSettingsUpdate = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined))
      if (notify_responsible !== undefined) set.notify_responsible = notify_responsible ? 1 : 0
      if (todo_pings !== undefined) set.todo_pings = JSON.stringify([...todo_pings].sort((a, b) => a - b))
      await db
        .updateTable('portal_settings')
        .set({ ...set, updated_at: nowIso() })
        .where('member_id', '=', memberId)
        .execute()
    },

    /**
     * A batch's notifications / to-dos: the last failure of each kind, or null after a success.
     * Written only when it changes, since every batch with extras reports.
     */
    async recordExtras(memberId: string, outcome: ExtrasOutcome): Promise<void> {
      const set = Object.fromEntries(Object.entries(outcome).filter(([, v]) => v !== undefined)) as ExtrasOutcome
      if (Object.keys(set).length === 0) return
      await db
        .updateTable('portal_settings')
        .set(set)
        .where('member_id', '=', memberId)
        .where((eb) =>
          eb.or(
            Object.entries(set).map(([col, v]) =>
              v === null
                ? eb(col as keyof ExtrasOutcome, 'is not', null)
                : eb.or([eb(col as keyof ExtrasOutcome, 'is', null), eb(col as keyof ExtrasOutcome, '!=', v)]),
            ),
          ),
        )
        .execute()
    },

    /** New secret now; the old one keeps verifying for `graceMs` so TikTok-side changes need not be instant. */
    async rotateSecret(memberId: string, graceMs: number, nowMs = clock.now()): Promise<PortalSettings> {
      const current = await repo.ensure(memberId)
      await db
        .updateTable('portal_settings')
        .set({
          signing_secret: box.seal(newSecret()),
          previous_secret: box.seal(current.signing_secret),
          previous_secret_until: nowMs + graceMs,
          updated_at: nowIso(),
        })
        .where('member_id', '=', memberId)
        .execute()
      return (await repo.find(memberId))!
    },

    /** New webhook key now; the old one keeps accepting leads for `graceMs` while TikTok and forwarders move. */
    async rotateWebhookKey(memberId: string, graceMs: number, nowMs = clock.now()): Promise<PortalSettings> {
      const current = await repo.ensure(memberId)
      await db
        .updateTable('portal_settings')
        .set({
          webhook_key: newSecret(),
          previous_webhook_key: current.webhook_key,
          previous_webhook_key_until: nowMs + graceMs,
          updated_at: nowIso(),
        })
        .where('member_id', '=', memberId)
        .execute()
      return (await repo.find(memberId))!
    },

    /** The install POST opens a short window in which the first ONAPPINSTALL may bring the application_token. */
    async openInstallWindow(memberId: string, untilMs: number): Promise<void> {
      await db
        .updateTable('portal_settings')
        .set({ install_event_until: untilMs })
        .where('member_id', '=', memberId)
        .execute()
    },

    async closeInstallWindow(memberId: string): Promise<void> {
      await db
        .updateTable('portal_settings')
        .set({ install_event_until: null })
        .where('member_id', '=', memberId)
        .execute()
    },

    async recordVerification(memberId: string, scheme: string, detail: string): Promise<void> {
      await db
        .updateTable('portal_settings')
        .set({ last_verify_scheme: scheme, last_verify_detail: detail, last_webhook_at: nowIso() })
        .where('member_id', '=', memberId)
        .execute()
    },
  }
  return repo
}

/** Secrets that verify right now: the current one, then the previous one inside its grace period. */
export function activeSecrets(s: PortalSettings, nowMs: number): string[] {
  return s.previous_secret && (s.previous_secret_until ?? 0) > nowMs
    ? [s.signing_secret, s.previous_secret]
    : [s.signing_secret]
}
