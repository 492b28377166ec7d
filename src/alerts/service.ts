import type { FastifyBaseLogger } from 'fastify'
import type { B24Clients } from '../bitrix24/client.js'
import { parseCrmMode, SIMPLE } from '../bitrix24/crm-mode.js'
import { batchCommand } from '../bitrix24/query.js'
import type { Clock } from '../clock.js'
import type { AlertRepository } from '../db/repositories/alerts.js'
import type { PortalRepository } from '../db/repositories/portals.js'
import type { SettingsRepository } from '../db/repositories/settings.js'
import type { TikTokRepository } from '../db/repositories/tiktok.js'
import type { AlertState, Portal } from '../db/schema.js'
import { type Condition, leadSilence, leadsFailing, tiktokLost } from './conditions.js'
import { ALERT_KINDS, type AlertKind, alertTag, hasImScope, IM_REFUSED, REPEAT_MS } from './kinds.js'
import { alertMessage, parseDetail } from './messages.js'

/** One `batch` holds at most 50 commands: each notice goes to this many admins at most. */
const MAX_COMMANDS = 50

export interface AlertsDeps {
  repo: AlertRepository
  portals: PortalRepository
  settings: SettingsRepository
  tiktok: TikTokRepository
  b24: B24Clients
  log: FastifyBaseLogger
  clock: Pick<Clock, 'now'>
  repeatMs?: number
}

export type Alerts = ReturnType<typeof createAlerts>

interface Notice {
  kind: AlertKind
  message: string
  resolved: boolean
}

/**
 * The health alerts: each condition (conditions.ts) is evaluated per portal; a condition that
 * starts raises its alert, which goes once to every remembered administrator through the portal's
 * request queue (one `batch`), again at most every `repeatMs` while it lasts, and is replaced by a
 * "resolved" notice (same TAG) when it ends. Only the periodic check and the app's own findings
 * (a health check's outcome) evaluate: no request from outside ever makes a portal call here.
 *
 * Bitrix24 tokens that need re-authorisation (portal state needs_reauth) cannot be alerted through
 * the portal: every REST call needs the app's token, which is what died. The tab says so; the
 * alerts wait and go out once an administrator's page open re-authorises the portal.
 * @see https://apidocs.bitrix24.com/api-reference/chats/notifications/im-notify-system-add.html
 */
export function createAlerts(deps: AlertsDeps) {
  const { repo, log } = deps
  const repeatMs = deps.repeatMs ?? REPEAT_MS
  const running = new Map<string, Promise<void>>()

  async function conditions(portal: Portal, states: AlertState[]): Promise<Condition[]> {
    const m = portal.member_id
    const now = deps.clock.now()
    const conf = await deps.settings.find(m)
    const silenceWasActive = states.some((s) => s.kind === 'lead_silence' && s.active === 1)
    return [
      await tiktokLost(deps.tiktok, m),
      await leadsFailing(repo, m),
      await leadSilence(repo, m, conf?.alert_silence_hours ?? null, now, silenceWasActive),
    ]
  }

  /** Whether the portal cannot get alerts for want of the `im` scope (stored scope, or a refusal seen with this scope). */
  async function imMissing(portal: Pick<Portal, 'member_id' | 'scope'>): Promise<boolean> {
    if (!hasImScope(portal.scope)) return true
    const refused = await repo.find(portal.member_id, IM_REFUSED)
    return refused?.active === 1 && refused.detail === portal.scope
  }

  async function evaluatePortal(memberId: string): Promise<void> {
    const portal = await deps.portals.find(memberId)
    if (!portal || portal.state === 'uninstalled') return
    const now = deps.clock.now()
    const before = await repo.list(memberId)
    const notices: Notice[] = []
    const place = { lang: portal.lang, domain: portal.domain, simpleMode: parseCrmMode(portal.crm_mode) === SIMPLE }
    for (const c of await conditions(portal, before)) {
      if (c.detail) {
        const state = await repo.raise(memberId, c.kind, JSON.stringify(c.detail), now)
        if (state.last_sent_at === null || now - state.last_sent_at >= repeatMs)
          notices.push({
            kind: c.kind,
            message: alertMessage(c.kind, parseDetail(state.detail), place),
            resolved: false,
          })
      } else {
        const was = await repo.resolve(memberId, c.kind, now)
        // Only an alert the admins got needs its "resolved" notice (it replaces the alert: same TAG).
        if (was && was.last_sent_at !== null)
          notices.push({ kind: c.kind, message: alertMessage(c.kind, {}, place, true), resolved: true })
      }
    }
    if (notices.length === 0) return
    // The app cannot call a portal whose tokens need re-authorisation: the alerts stay due.
    if (portal.state !== 'active' || !portal.access_token) return
    if (await imMissing(portal)) return
    const admins = await repo.admins(memberId)
    if (admins.length === 0) {
      log.info({ memberId, kinds: notices.map((n) => n.kind) }, 'alert not sent: no administrator seen yet')
      return
    }
    await send(portal, notices, admins.slice(0, Math.floor(MAX_COMMANDS / notices.length)))
  }

  async function send(portal: Portal, notices: Notice[], admins: number[]): Promise<void> {
    const memberId = portal.member_id
    const cmd: Record<string, string> = {}
    for (const n of notices)
      for (const userId of admins)
        cmd[`${n.kind}_${userId}`] = batchCommand('im.notify.system.add', {
          USER_ID: userId,
          MESSAGE: n.message,
          TAG: alertTag(n.kind, userId),
        })
    let res
    try {
      res = await deps.b24.forPortal(memberId).batch(cmd, false)
    } catch (err) {
      // Tried again at the next check (nothing was marked sent).
      log.warn({ memberId, err: err instanceof Error ? err.message : String(err) }, 'alerts not sent this time')
      return
    }
    const errors = (res.result_error ?? {}) as Record<string, { error?: string; error_description?: string }>
    const now = deps.clock.now()
    let refused = false
    let delivered = false
    for (const n of notices) {
      const keys = admins.map((u) => `${n.kind}_${u}`)
      const failed = keys.filter((k) => errors[k])
      if (failed.some((k) => errors[k]!.error === 'insufficient_scope')) refused = true
      if (failed.length < keys.length) {
        delivered = true
        if (!n.resolved) await repo.markSent(memberId, n.kind, now)
      }
      if (failed.length)
        log.warn({ memberId, kind: n.kind, errors: failed.map((k) => errors[k]!.error) }, 'alert refused by Bitrix24')
      else log.info({ memberId, kind: n.kind, resolved: n.resolved, admins: admins.length }, 'alert sent')
    }
    if (refused && !delivered) {
      // Remembered with the scope it was refused under: a re-approval (a new scope) tries again.
      await repo.raise(memberId, IM_REFUSED, portal.scope, now)
    } else if (delivered) await repo.resolve(memberId, IM_REFUSED, now)
  }

  /** Evaluate one portal now; calls for a portal run one after another, never side by side. */
  function evaluate(memberId: string): Promise<void> {
    const prev = running.get(memberId) ?? Promise.resolve()
    const next = prev
      .then(() => evaluatePortal(memberId))
      .catch((err: unknown) => {
        log.warn({ memberId, err: err instanceof Error ? err.message : String(err) }, 'alert check failed')
      })
    running.set(memberId, next)
    void next.finally(() => {
      if (running.get(memberId) === next) running.delete(memberId)
    })
    return next
  }

  return {
    evaluate,
    imMissing,
    /** A verified user of the portal (install, page open): administrators get the alerts. */
    sawUser(memberId: string, userId: number, isAdmin: boolean): Promise<void> {
      return repo.sawUser(memberId, userId, isAdmin, deps.clock.now())
    },
    /** Every portal's check, one portal after another. */
    async runOnce(): Promise<void> {
      for (const portal of await deps.portals.list())
        if (portal.state !== 'uninstalled') await evaluate(portal.member_id)
    },
    /** Evaluations still running (tests wait for none). */
    idle(): Promise<void> {
      return Promise.all([...running.values()]).then(() => undefined)
    },
    kinds: ALERT_KINDS,
  }
}
