import type { FastifyBaseLogger } from 'fastify'
import type { B24Clients } from '../bitrix24/client.js'
import { parseCrmMode, SIMPLE } from '../bitrix24/crm-mode.js'
import { batchCommand } from '../bitrix24/query.js'
import type { Clock, Timer } from '../clock.js'
import type { AlertRepository } from '../db/repositories/alerts.js'
import type { PortalRepository } from '../db/repositories/portals.js'
import type { SettingsRepository } from '../db/repositories/settings.js'
import type { TikTokRepository } from '../db/repositories/tiktok.js'
import type { AlertState, Portal } from '../db/schema.js'
import { type Condition, type FailedCounts, leadSilence, leadsFailing, tiktokLost } from './conditions.js'
import {
  ALERT_KINDS,
  type AlertKind,
  alertTag,
  FAILED_MAX_WAIT_MS,
  FAILED_QUIET_MS,
  hasImScope,
  IM_REFUSED,
  REPEAT_MS,
} from './kinds.js'
import { alertMessage, parseDetail } from './messages.js'

/** One `batch` holds at most 50 commands: each notice goes to this many admins at most. */
const MAX_COMMANDS = 50

export interface AlertsDeps {
  repo: AlertRepository
  portals: PortalRepository
  settings: SettingsRepository
  tiktok: TikTokRepository
  /** the per-portal lead counts kept in memory (app.leadCounts): the failing-leads condition reads them */
  counts: FailedCounts
  b24: B24Clients
  log: FastifyBaseLogger
  clock: Pick<Clock, 'now' | 'setTimer'>
  repeatMs?: number
  /** leads failing: evaluate once no failure came for this long ... */
  failedQuietMs?: number
  /** ... or this long after the burst's first failure, whichever is first */
  failedMaxWaitMs?: number
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
 * (a health check's outcome, leads ending as failed) evaluate: no request from outside ever makes
 * a portal call here.
 *
 * Never lost: a condition's change is committed first (alert_states), and what the admins are due
 * is read from the rows, not kept in memory: an active alert not sent (last_sent_at null) or due
 * again, an ended one they were told of whose end they were not told (resolved_at null). A notice
 * is marked sent only once Bitrix24 accepted it, so a send that fails (Bitrix24 down,
 * QUERY_LIMIT_EXCEEDED, no administrator seen yet) or a crash in between leaves it due, and the
 * next check sends it, once. Bitrix24 accepting it and the app dying before the mark is the one
 * case sent twice; the TAG then replaces the first with the same text.
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
  const failedQuietMs = deps.failedQuietMs ?? FAILED_QUIET_MS
  const failedMaxWaitMs = deps.failedMaxWaitMs ?? FAILED_MAX_WAIT_MS
  /** Portals whose leads just failed, waiting for their one evaluation (the burst's first failure, the timer). */
  const soon = new Map<string, { first: number; timer: Timer }>()
  let evaluations = 0
  let closed = false

  async function conditions(portal: Portal, states: AlertState[]): Promise<Condition[]> {
    const m = portal.member_id
    const now = deps.clock.now()
    const conf = await deps.settings.find(m)
    const silenceWasActive = states.some((s) => s.kind === 'lead_silence' && s.active === 1)
    return [
      await tiktokLost(deps.tiktok, m),
      await leadsFailing(repo, deps.counts, m),
      await leadSilence(repo, m, conf?.alert_silence_hours ?? null, now, silenceWasActive),
    ]
  }

  /** Whether the portal cannot get alerts for want of the `im` scope (stored scope, or a refusal seen with this scope). */
  async function imMissing(portal: Pick<Portal, 'member_id' | 'scope'>): Promise<boolean> {
    if (!hasImScope(portal.scope)) return true
    const refused = await repo.find(portal.member_id, IM_REFUSED)
    return refused?.active === 1 && refused.detail === portal.scope
  }

  /** What the admins are due, from the rows alone (see above): the alert, its repeat, or its end. */
  function due(states: AlertState[], now: number, place: Parameters<typeof alertMessage>[2]): Notice[] {
    const out: Notice[] = []
    for (const s of states) {
      const kind = ALERT_KINDS.find((k) => k === s.kind)
      if (!kind) continue
      if (s.active === 1) {
        if (s.last_sent_at === null || now - s.last_sent_at >= repeatMs)
          out.push({ kind, message: alertMessage(kind, parseDetail(s.detail), place), resolved: false })
      } else if (s.last_sent_at !== null && s.resolved_at === null)
        // Only an alert the admins got needs its "resolved" notice (it replaces the alert: same TAG).
        out.push({ kind, message: alertMessage(kind, {}, place, true), resolved: true })
    }
    return out
  }

  async function evaluatePortal(memberId: string): Promise<void> {
    const portal = await deps.portals.find(memberId)
    if (!portal || portal.state === 'uninstalled') return
    evaluations += 1
    const now = deps.clock.now()
    // First the conditions' changes, committed: what is due follows from the rows.
    for (const c of await conditions(portal, await repo.list(memberId))) {
      if (c.detail) await repo.raise(memberId, c.kind, JSON.stringify(c.detail), now)
      else await repo.resolve(memberId, c.kind, now)
    }
    const place = { lang: portal.lang, domain: portal.domain, simpleMode: parseCrmMode(portal.crm_mode) === SIMPLE }
    const notices = due(await repo.list(memberId), now, place)
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
      // Still due: the next check sends it (nothing was marked sent).
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
        if (n.resolved) await repo.markResolvedSent(memberId, n.kind, now)
        else await repo.markSent(memberId, n.kind, now)
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

  /**
   * Leads of the portal ended as failed: evaluate its alerts soon, not at the next minute's check.
   * A burst (a thousand refused leads come back 50 a batch) is one evaluation, hence one notice:
   * it runs once no failure came for `failedQuietMs`, or `failedMaxWaitMs` after the first, so a
   * steady trickle cannot put it off for ever.
   */
  function leadsFailed(memberId: string): void {
    if (closed) return
    const now = deps.clock.now()
    const pending = soon.get(memberId)
    pending?.timer.cancel()
    const first = pending?.first ?? now
    const wait = Math.max(0, Math.min(now + failedQuietMs, first + failedMaxWaitMs) - now)
    const timer = deps.clock.setTimer(() => {
      soon.delete(memberId)
      void evaluate(memberId)
    }, wait)
    soon.set(memberId, { first, timer })
  }

  return {
    evaluate,
    leadsFailed,
    /** Stop the timers of evaluations not yet begun (the app closes). */
    close(): void {
      closed = true
      for (const s of soon.values()) s.timer.cancel()
      soon.clear()
    },
    /** Portal evaluations begun since start (tests count them). */
    get evaluations(): number {
      return evaluations
    },
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
