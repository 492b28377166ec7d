import type { FastifyInstance } from 'fastify'
import { manifest } from '../../manifest/app.js'
import { mappingOf } from '../mapping/stored-lead.js'
import type { Lead, Portal, PortalSettings } from '../db/schema.js'
import { NormalizedLead } from '../tiktok/schemas.js'
import { fieldsOf } from '../tiktok-business/forms.js'
import { buildTikTokView } from '../tiktok-business/view.js'
import { parseCrmMode, SIMPLE } from '../bitrix24/crm-mode.js'
import { DEFAULT_RATE_PER_S, ENTERPRISE_RATE_PER_S } from '../bitrix24/limits.js'
import { applicationTokenStale } from '../bitrix24/lifecycle.js'
import { strings, type Lang } from './i18n.js'
import type { LeadRowView, OptionsBody, OptionsView, StateView, StatsView } from './schemas.js'

const DAY_MS = 86_400_000
const STUCK_AFTER_MS = 5 * 60_000

/** Plain-language problem lines, in the page's language (en, ru and vn complete). */
const PROBLEMS = {
  en: {
    needs_reauth: (why: string) =>
      `Bitrix24 no longer accepts the app's access (${why}). A portal administrator must open this page to re-authorise it; leads are kept and will be sent then.`,
    uninstalled: () => 'The app is uninstalled from this portal: leads are stored but not sent.',
    operating_limit: (at: string, n: number) =>
      `Bitrix24 is limiting this app: sending resumes at ${at}. ${n} lead(s) are waiting and will be sent then; nothing is lost.`,
    portal_paused: (why: string, at: string) =>
      `Sending to Bitrix24 is paused: the portal did not answer as expected (${why}). Leads are kept and sending is retried automatically, next at ${at}.`,
    failed: (n: number) =>
      `${n} lead(s) could not be delivered. See the delivery log below, fix the cause and re-send them.`,
    stuck: (min: number, err: string) =>
      `Leads are waiting: the oldest for ${min} min${err ? ` (last error: ${err})` : ''}.`,
    no_webhook: () =>
      'No request has come from TikTok yet: paste the webhook URL into TikTok (steps below) or send a test lead.',
    verify_failed: (detail: string) =>
      `The last TikTok request failed signature verification (${detail}). It was accepted because verification is in log-only mode.`,
    app_token_stale: (version: string) =>
      `Bitrix24 updated this app to version ${version}, but its update notice never reached the app, so events from Bitrix24 (such as lead changes) are refused until Bitrix24 gives the app its new key. Leads from TikTok are still sent. To fix it, a portal administrator opens this app from the Bitrix24 menu (Applications); if this message stays, reinstall the app, keeping its data when Bitrix24 asks (settings and leads are then kept).`,
  },
  ru: {
    needs_reauth: (why: string) =>
      `Bitrix24 больше не принимает доступ приложения (${why}). Администратор портала должен открыть эту страницу, чтобы переавторизовать его; лиды сохранены и будут отправлены.`,
    uninstalled: () => 'Приложение удалено с портала: лиды сохраняются, но не отправляются.',
    operating_limit: (at: string, n: number) =>
      `Битрикс24 ограничивает это приложение: отправка продолжится в ${at}. Лидов в очереди: ${n}, они будут отправлены тогда; ничего не теряется.`,
    portal_paused: (why: string, at: string) =>
      `Отправка в Битрикс24 приостановлена: портал ответил не так, как ожидалось (${why}). Лиды сохранены, отправка повторяется автоматически, следующая попытка в ${at}.`,
    failed: (n: number) =>
      `Не удалось доставить лидов: ${n}. Смотрите журнал доставки ниже, устраните причину и отправьте их повторно.`,
    stuck: (min: number, err: string) =>
      `Лиды ждут отправки: самый старый — ${min} мин${err ? ` (последняя ошибка: ${err})` : ''}.`,
    no_webhook: () =>
      'Из TikTok ещё не было запросов: вставьте URL вебхука в TikTok (шаги ниже) или отправьте тестовый лид.',
    verify_failed: (detail: string) =>
      `Последний запрос TikTok не прошёл проверку подписи (${detail}). Он принят, так как проверка в режиме «только журнал».`,
    app_token_stale: (version: string) =>
      `Битрикс24 обновил приложение до версии ${version}, но уведомление об обновлении до приложения не дошло, поэтому события из Битрикс24 (например, изменения лидов) отклоняются, пока Битрикс24 не передаст приложению новый ключ. Лиды из TikTok по-прежнему отправляются. Чтобы это исправить, администратор портала открывает приложение из меню Битрикс24 («Приложения»); если сообщение не исчезнет, переустановите приложение, сохранив его данные, когда Битрикс24 спросит (настройки и лиды тогда сохранятся).`,
  },
  vn: {
    needs_reauth: (why: string) =>
      `Bitrix24 không còn chấp nhận quyền truy cập của ứng dụng (${why}). Quản trị viên cổng cần mở trang này để ủy quyền lại; khách hàng tiềm năng vẫn được lưu giữ và sẽ được gửi khi đó.`,
    uninstalled: () =>
      'Ứng dụng đã bị gỡ cài đặt khỏi cổng này: khách hàng tiềm năng được lưu lại nhưng không được gửi.',
    operating_limit: (at: string, n: number) =>
      `Bitrix24 đang giới hạn ứng dụng này: việc gửi sẽ tiếp tục lúc ${at}. ${n} khách hàng tiềm năng đang chờ và sẽ được gửi khi đó; không có gì bị mất.`,
    portal_paused: (why: string, at: string) =>
      `Việc gửi tới Bitrix24 đang tạm dừng: cổng không phản hồi như mong đợi (${why}). Khách hàng tiềm năng vẫn được lưu giữ và việc gửi sẽ tự động thử lại, lần tiếp theo lúc ${at}.`,
    failed: (n: number) =>
      `${n} khách hàng tiềm năng không gửi được. Hãy xem nhật ký gửi bên dưới, khắc phục nguyên nhân và gửi lại.`,
    stuck: (min: number, err: string) =>
      `Khách hàng tiềm năng đang chờ: mục cũ nhất đã chờ ${min} phút${err ? ` (lỗi gần nhất: ${err})` : ''}.`,
    no_webhook: () =>
      'Chưa có yêu cầu nào từ TikTok: hãy dán URL webhook vào TikTok (các bước bên dưới) hoặc gửi một khách hàng tiềm năng thử nghiệm.',
    verify_failed: (detail: string) =>
      `Yêu cầu TikTok gần nhất không vượt qua kiểm tra chữ ký (${detail}). Yêu cầu vẫn được chấp nhận vì chế độ kiểm tra đang là “Chỉ ghi nhật ký”.`,
    app_token_stale: (version: string) =>
      `Bitrix24 đã cập nhật ứng dụng này lên phiên bản ${version}, nhưng thông báo cập nhật không đến được ứng dụng, vì vậy các sự kiện từ Bitrix24 (như thay đổi khách hàng tiềm năng) bị từ chối cho đến khi Bitrix24 cấp khóa mới cho ứng dụng. Khách hàng tiềm năng từ TikTok vẫn được gửi. Để khắc phục, quản trị viên cổng hãy mở ứng dụng này từ menu Bitrix24 (Ứng dụng); nếu thông báo này vẫn còn, hãy cài đặt lại ứng dụng và chọn giữ lại dữ liệu khi Bitrix24 hỏi (khi đó cài đặt và khách hàng tiềm năng được giữ nguyên).`,
  },
}

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
    attempts: row.attempts,
    b24LeadId: row.b24_lead_id,
    // Simple CRM mode: the id is a deal's, whose card is under /crm/deal/.
    b24LeadUrl: row.b24_lead_id
      ? (row.b24_entity === 'deal' ? template.replace('/crm/lead/', '/crm/deal/') : template).replace(
          '#ID#',
          String(row.b24_lead_id),
        )
      : null,
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
  const text = PROBLEMS[lang]
  const problems: string[] = []
  if (portal.state === 'needs_reauth') problems.push(text.needs_reauth(portal.state_reason ?? 'token refresh refused'))
  if (portal.state === 'uninstalled') problems.push(text.uninstalled())
  if (portal.state === 'active' && applicationTokenStale(portal))
    problems.push(text.app_token_stale(portal.app_version ?? ''))
  const now = app.clock.now()
  const paused = portal.state === 'active' ? app.dispatcher.pauseOf(m) : null
  if (paused) problems.push(text.portal_paused(paused.reason, hhmm(Math.max(paused.until, now))))
  const limited = portal.state === 'active' ? app.dispatcher.limitOf(m) : null
  if (limited)
    problems.push(text.operating_limit(hhmm(limited.until), counts.received + counts.queued + counts.sending))
  if (counts.failed > 0) problems.push(text.failed(counts.failed))
  if (oldest && now - oldest.received_at > STUCK_AFTER_MS)
    problems.push(text.stuck(Math.round((now - oldest.received_at) / 60_000), oldest.last_error ?? ''))
  const connected = (await app.tiktok.repo.listConnections(m)).length > 0
  if (!conf.last_webhook_at && !connected) problems.push(text.no_webhook())
  else if (conf.last_verify_detail && conf.verify_mode === 'log_only' && !/valid/i.test(conf.last_verify_detail))
    problems.push(text.verify_failed(conf.last_verify_detail))
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
const empty = (): Bucket => ({ received: 0, delivered: 0, duplicate: 0, failed: 0, medianDeliveryMs: null })

/** Today and each of the last 7 UTC days, plus the week's totals. */
export async function buildStats(app: FastifyInstance, memberId: string, nowMs = app.clock.now()): Promise<StatsView> {
  const todayStart = Math.floor(nowMs / DAY_MS) * DAY_MS
  const since = todayStart - 6 * DAY_MS
  const { received, done } = await app.leadStats.dailyStats(memberId, since)
  const days: StatsView['days'] = []
  for (let i = 0; i < 7; i++) {
    const start = since + i * DAY_MS
    const date = new Date(start).toISOString().slice(0, 10)
    const b = { date, ...empty() }
    b.received = received.find((r) => r.day === date)?.n ?? 0
    for (const d of done.filter((x) => x.day === date))
      if (d.status === 'delivered' || d.status === 'duplicate' || d.status === 'failed') b[d.status] = d.n
    b.medianDeliveryMs = b.delivered ? await app.leadStats.medianDeliveryMs(memberId, start, start + DAY_MS) : null
    days.push(b)
  }
  const week = empty()
  for (const d of days) {
    week.received += d.received
    week.delivered += d.delivered
    week.duplicate += d.duplicate
    week.failed += d.failed
  }
  week.medianDeliveryMs = week.delivered
    ? await app.leadStats.medianDeliveryMs(memberId, since, todayStart + DAY_MS)
    : null
  const { date: _date, ...today } = days[6]!
  void _date
  return { days, today, week }
}
