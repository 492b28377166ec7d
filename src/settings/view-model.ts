import type { FastifyInstance } from 'fastify'
import { manifest } from '../../manifest/app.js'
import { mappingOf } from '../mapping/stored-lead.js'
import type { B24Entity, Lead, Portal, PortalSettings } from '../db/schema.js'
import { NormalizedLead } from '../tiktok/schemas.js'
import { fieldsOf } from '../tiktok-business/forms.js'
import { buildTikTokView } from '../tiktok-business/view.js'
import { parseCrmMode, SIMPLE } from '../bitrix24/crm-mode.js'
import { DEFAULT_RATE_PER_S, ENTERPRISE_RATE_PER_S } from '../bitrix24/limits.js'
import { applicationTokenStale } from '../bitrix24/lifecycle.js'
import { todoPingsOf } from '../db/repositories/settings.js'
import { fmt, type Lang, STRINGS, strings } from './i18n.js'
import type { LeadRowView, OptionsBody, OptionsView, StateView, StatsView } from './schemas.js'

const DAY_MS = 86_400_000
const STUCK_AFTER_MS = 5 * 60_000

/** A time of day as HH:MM (UTC, as the page's other times are). */
function hhmm(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 16)} UTC`
}

/** The webhook URL TikTok must call for this portal. */
export function webhookUrl(base: string, conf: PortalSettings): string {
  return new URL(manifest.paths.tiktokWebhook.replace(':key', conf.webhook_key), base).toString()
}

export function maskSecret(secret: string): string {
  return `${secret.slice(0, 4)}${'•'.repeat(12)}${secret.slice(-2)}`
}

/** Link to a lead card in the portal (https, except an emulated portal on loopback). */
export function leadUrlTemplate(domain: string): string {
  const local = /^(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(domain)
  return `${local ? 'http' : 'https'}://${domain}/crm/lead/details/#ID#/`
}

/**
 * A record's card from that template: a lead's, or a deal's (simple CRM mode, where the TikTok
 * lead is a deal) under /crm/deal/; `id` may be a placeholder the caller replaces later.
 */
export function cardUrl(template: string, entity: B24Entity, id: number | string): string {
  return (entity === 'deal' ? template.replace('/crm/lead/', '/crm/deal/') : template).replace('#ID#', String(id))
}

/** The portal's options; `defaultRetentionDays` is the server's RETENTION_DAYS, used when the portal has none of its own. */
export function optionsOf(conf: PortalSettings, defaultRetentionDays: number): OptionsView {
  return {
    dedup_policy: conf.dedup_policy,
    rate_per_s: conf.rate_per_s === ENTERPRISE_RATE_PER_S ? ENTERPRISE_RATE_PER_S : DEFAULT_RATE_PER_S,
    // stored only after validation against the same schema
    default_country: conf.default_country as OptionsBody['default_country'],
    verify_mode: conf.verify_mode,
    // stored only after validation against the same schema
    retention_days: conf.retention_days as OptionsView['retention_days'],
    retention_default_days: defaultRetentionDays,
    // stored only after validation (a check constraint and the same schema)
    name_order: conf.name_order as OptionsView['name_order'],
    notify_responsible: conf.notify_responsible === 1,
    todo_minutes: conf.todo_minutes,
    todo_pings: todoPingsOf(conf),
    alert_silence_hours: conf.alert_silence_hours,
  }
}

export function leadName(row: Lead): string | null {
  try {
    const lead = NormalizedLead.parse(JSON.parse(row.lead_json))
    const by = (k: string) => lead.answers.find((a) => a.key === k)?.value
    return by('name') ?? by('full_name') ?? ([by('first_name'), by('last_name')].filter(Boolean).join(' ') || null)
  } catch {
    return null
  }
}

/**
 * Personal data for users who may not read it: the first character and the length's shape only
 * (short values vanish entirely), enough to tell leads apart in the log, not to contact anyone.
 */
export function maskPersonal(value: string): string {
  const v = value.trim()
  if (v.length <= 4) return '•••'
  return `${v.slice(0, 1)}${'•'.repeat(Math.min(v.length - 1, 8))}`
}

/** Every string inside a value, masked (the preview's mapped fields of a lead). */
export function maskDeep(value: unknown): unknown {
  if (typeof value === 'string') return maskPersonal(value)
  if (Array.isArray(value)) return value.map(maskDeep)
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v)]))
  return value
}

/** Lead log rows; `personal: false` masks the lead's name (users who are not portal administrators). */
export function leadRowView(row: Lead, template: string, personal = true): LeadRowView {
  const name = leadName(row)
  return {
    id: row.id,
    tiktokLeadId: row.tiktok_lead_id,
    status: row.status,
    isTest: row.is_test === 1,
    name: name !== null && !personal ? maskPersonal(name) : name,
    receivedAt: new Date(row.received_at).toISOString(),
    doneAt: row.done_at ? new Date(row.done_at).toISOString() : null,
    deliveryMs: row.status === 'delivered' && row.done_at ? row.done_at - row.received_at : null,
    firstContactMs:
      row.status === 'delivered' && row.done_at && row.first_contact_at
        ? Math.max(0, row.first_contact_at - row.done_at)
        : null,
    attempts: row.attempts,
    b24LeadId: row.b24_lead_id,
    // Simple CRM mode: the id is a deal's, whose card is under /crm/deal/.
    b24LeadUrl: row.b24_lead_id ? cardUrl(template, row.b24_entity, row.b24_lead_id) : null,
    lastError: row.last_error,
    duplicateOf: row.duplicate_of,
    b24Stage: row.b24_stage_id
      ? {
          id: row.b24_stage_id,
          semantic: row.b24_stage_semantic,
          at: row.b24_stage_at ? new Date(row.b24_stage_at).toISOString() : null,
        }
      : null,
  }
}

/** Answer keys of the portal's latest leads, standard fields first, then custom questions as seen. */
export async function questionsSeen(app: FastifyInstance, memberId: string): Promise<string[]> {
  const rows = await app.leads.latest(memberId, { limit: 50 })
  const keys = new Set<string>(['name', 'phone_number', 'email'])
  // The connected forms' questions, so they can be mapped before the first lead arrives.
  for (const form of await app.tiktok.repo.formsOfPortal(memberId)) for (const f of fieldsOf(form)) keys.add(f.name)
  for (const row of rows) {
    try {
      for (const a of NormalizedLead.parse(JSON.parse(row.lead_json)).answers) keys.add(a.key)
    } catch {
      // a row that no longer parses contributes no keys
    }
  }
  return [...keys]
}

export async function buildState(
  app: FastifyInstance,
  args: {
    portal: Portal
    conf: PortalSettings
    user: { id: number; name: string; isAdmin: boolean }
    base: string
    lang: Lang
  },
): Promise<StateView> {
  const { portal, conf, user, lang } = args
  const m = portal.member_id
  const [counts, lastDelivered, oldest, questions] = await Promise.all([
    app.leads.counts(m),
    app.leadStats.lastDeliveredAt(m),
    app.leadStats.oldestWaiting(m),
    questionsSeen(app, m),
  ])
  // The plain-language problem lines (the catalogue's `problem_*`, in the page's language).
  const t = STRINGS[lang]
  const problems: string[] = []
  if (portal.state === 'needs_reauth')
    problems.push(fmt(t.problem_needs_reauth, { why: portal.state_reason ?? 'token refresh refused' }))
  if (portal.state === 'uninstalled') problems.push(t.problem_uninstalled)
  if (portal.state === 'active' && applicationTokenStale(portal))
    problems.push(fmt(t.problem_app_token_stale, { version: portal.app_version ?? '' }))
  // Health alerts need the `im` scope: a portal installed (or approved) without it, or a refusal seen, says so.
  if (portal.state === 'active' && (await app.alerts.imMissing(portal))) problems.push(t.problem_alerts_no_im)
  const now = app.clock.now()
  const paused = portal.state === 'active' ? app.dispatcher.pauseOf(m) : null
  if (paused) problems.push(fmt(t.problem_portal_paused, { why: paused.reason, at: hhmm(Math.max(paused.until, now)) }))
  const limited = portal.state === 'active' ? app.dispatcher.limitOf(m) : null
  if (limited)
    problems.push(
      fmt(t.problem_operating_limit, {
        at: hhmm(limited.until),
        n: counts.received + counts.queued + counts.sending,
      }),
    )
  if (counts.failed > 0) problems.push(fmt(t.problem_failed, { n: counts.failed }))
  // Speed-to-lead extras that failed beside delivered leads (the lead itself is not held back).
  if (conf.notify_error)
    problems.push(
      /^insufficient_scope\b/.test(conf.notify_error)
        ? t.problem_notify_scope
        : fmt(t.problem_notify_failed, { error: conf.notify_error }),
    )
  if (conf.todo_error) problems.push(fmt(t.problem_todo_failed, { error: conf.todo_error }))
  if (oldest && now - oldest.received_at > STUCK_AFTER_MS) {
    const min = Math.round((now - oldest.received_at) / 60_000)
    problems.push(
      oldest.last_error ? fmt(t.problem_stuck_error, { min, error: oldest.last_error }) : fmt(t.problem_stuck, { min }),
    )
  }
  const connected = (await app.tiktok.repo.listConnections(m)).length > 0
  if (!conf.last_webhook_at && !connected) problems.push(t.problem_no_webhook)
  else if (conf.last_verify_detail && conf.verify_mode === 'log_only' && !/valid/i.test(conf.last_verify_detail))
    problems.push(fmt(t.problem_verify_failed, { detail: conf.last_verify_detail }))
  // The TikTok connection's own lines (a revoked token, a lost subscription, new unmapped questions).
  if (app.tiktok.ctx) problems.push(...(await buildTikTokView(app.tiktok.ctx, m, mappingOf(conf), lang)).problems)
  return {
    portal: { memberId: m, domain: portal.domain, state: portal.state, stateReason: portal.state_reason },
    user,
    problems,
    queue: { pending: counts.received + counts.queued, sending: counts.sending, failed: counts.failed },
    lastDeliveryAt: lastDelivered ? new Date(lastDelivered).toISOString() : null,
    webhook: {
      url: user.isAdmin ? webhookUrl(args.base, conf) : null,
      secretMasked: user.isAdmin ? maskSecret(conf.signing_secret) : null,
      previousUrlValidUntil:
        user.isAdmin && conf.previous_webhook_key_until && conf.previous_webhook_key_until > now
          ? new Date(conf.previous_webhook_key_until).toISOString()
          : null,
      verifyMode: conf.verify_mode,
      lastScheme: conf.last_verify_scheme,
      lastDetail: conf.last_verify_detail,
      lastWebhookAt: conf.last_webhook_at,
    },
    options: optionsOf(conf, app.retention.days),
    mapping: mappingOf(conf),
    questions,
    crm: crmModeView(portal, lang),
  }
}

/** What a TikTok lead becomes on this portal, in plain words (the mode as last asked; unknown reads as classic, as delivery does). */
export function crmModeView(portal: Portal, lang: Lang): NonNullable<StateView['crm']> {
  const mode = parseCrmMode(portal.crm_mode)
  const t = strings(lang)
  return mode === SIMPLE
    ? { mode, creates: 'contact_and_deal', text: t.crm_mode_simple! }
    : { mode, creates: 'lead', text: t.crm_mode_classic! }
}

type Bucket = StatsView['today']
const empty = (): Bucket => ({
  received: 0,
  delivered: 0,
  duplicate: 0,
  failed: 0,
  medianDeliveryMs: null,
  medianFirstContactMs: null,
})

/**
 * Today and each of the last 7 UTC days, plus the week's totals: one statement for all of it
 * (leadStats.dailyStats), where each day's medians were two queries apiece (up to 34 a page open).
 */
export async function buildStats(
  app: Pick<FastifyInstance, 'leadStats' | 'clock'>,
  memberId: string,
  nowMs = app.clock.now(),
): Promise<StatsView> {
  const todayStart = Math.floor(nowMs / DAY_MS) * DAY_MS
  const since = todayStart - 6 * DAY_MS
  const { received, done, range } = await app.leadStats.dailyStats(memberId, since, todayStart + DAY_MS)
  const days: StatsView['days'] = []
  for (let i = 0; i < 7; i++) {
    const start = since + i * DAY_MS
    const date = new Date(start).toISOString().slice(0, 10)
    const b = { date, ...empty() }
    b.received = received.find((r) => r.day === date)?.n ?? 0
    for (const d of done.filter((x) => x.day === date)) {
      if (d.status === 'delivered' || d.status === 'duplicate' || d.status === 'failed') b[d.status] = d.n
      // Per day of delivery: how fast that day's leads were delivered and first worked.
      if (d.status === 'delivered') {
        b.medianDeliveryMs = d.medianDeliveryMs
        b.medianFirstContactMs = d.medianFirstContactMs
      }
    }
    days.push(b)
  }
  const week = empty()
  for (const d of days) {
    week.received += d.received
    week.delivered += d.delivered
    week.duplicate += d.duplicate
    week.failed += d.failed
  }
  week.medianDeliveryMs = week.delivered ? range.medianDeliveryMs : null
  week.medianFirstContactMs = week.delivered ? range.medianFirstContactMs : null
  const { date: _date, ...today } = days[6]!
  void _date
  return { days, today, week }
}
