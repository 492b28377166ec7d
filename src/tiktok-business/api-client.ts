import type { Readable } from 'node:stream'
import type { Clock } from '../clock.js'
import { isTimeZone } from '../analytics/days.js'
import { TikTokApiError } from '../errors.js'
import { hasMorePages, idOf, isRecord, list, mockLeadId, nonEmpty, records, textOf } from './api-values.js'
import { createTransport } from './api-transport.js'
import type { TikTokLimiter } from './limiter.js'
import { createSdkAuth } from './sdk-auth.js'

/**
 * The app's client for TikTok's API for Business (Marketing API v1.3): OAuth, instant forms,
 * test leads, lead subscriptions and lead downloads.
 *
 * Every call
 * - goes through the one app-wide limiter (the quota is the developer app's, shared by all portals);
 * - uses `${apiUrl}/open_api/v1.3/<endpoint>/`: the trailing slash matters (without it, a bare 404);
 * - sends the advertiser token in the `Access-Token` header, never `Authorization: Bearer`;
 * - reads the answer with the big-int-safe parser (ids come back as strings, all digits kept) and
 *   checks `code`: TikTok answers errors with HTTP 200. Each failure becomes a TikTokApiError of
 *   one kind (see `classify` in return-codes.ts); `rate_limited` (40100) is retried here with backoff and jitter.
 * Secrets and tokens never appear in errors or logs: messages name the endpoint only, and
 * TikTok's own message is scrubbed of them before it is quoted.
 *
 * `/oauth2/access_token/` and `/oauth2/advertiser/get/` go through TikTok's official JS SDK
 * (see sdk-auth.ts for what is taken from it and what is not); the SDK has no lead, page or
 * subscription API, so the rest is our own fetch.
 *
 * @see https://business-api.tiktok.com/portal/docs (Lead Generation, authorisation, rate limits)
 */

export interface TikTokApiOptions {
  /** e.g. https://business-api.tiktok.com (no /open_api). */
  apiUrl: string
  appId: string
  appSecret: string
  /** One request; for downloads, until the file's headers arrive. */
  timeoutMs: number
  limiter: TikTokLimiter
  /** Retries of code 40100: attempts in all (default 5), backoff base/cap (default 1 s / 30 s). */
  retry?: { attempts: number; baseMs: number; maxMs: number }
  log?: ApiLog
  /** what the retries wait on (the app's clock); default the system clock */
  clock?: Clock
  /** jitter of the retries; tests inject it */
  random?: () => number
}

/** A pino-compatible logger, or anything with these two methods. */
export interface ApiLog {
  debug(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

export interface TikTokForm {
  pageId: string
  title: string
  status: string
}

export interface TikTokFormField {
  name: string
  type: string | null
  options: string[]
}

export interface TikTokSubscription {
  subscriptionId: string
  callbackUrl: string
  advertiserId: string | null
  pageId: string | null
}

export type LeadTaskStatus = 'CREATED' | 'RUNNING' | 'SUCCEED' | 'FAILED'

/** A BASIC report's data level and the ID dimension that goes with it. */
export const REPORT_LEVELS = {
  campaign: { dataLevel: 'AUCTION_CAMPAIGN', dimension: 'campaign_id' },
  adgroup: { dataLevel: 'AUCTION_ADGROUP', dimension: 'adgroup_id' },
  ad: { dataLevel: 'AUCTION_AD', dimension: 'ad_id' },
} as const
export type ReportLevel = keyof typeof REPORT_LEVELS

/** One entity's numbers on one day (YYYY-MM-DD) of a BASIC report. */
export interface ReportDayRow {
  entityId: string
  day: string
  spend: number
  impressions: number
  clicks: number
}

export interface TikTokApi {
  exchangeAuthCode(authCode: string): Promise<{ accessToken: string; advertiserIds: string[]; scope: number[] }>
  listAdvertisers(accessToken: string): Promise<Array<{ advertiserId: string; advertiserName: string }>>
  revokeToken(accessToken: string): Promise<void>
  listForms(accessToken: string, advertiserId: string): Promise<TikTokForm[]>
  formFields(accessToken: string, advertiserId: string, pageId: string): Promise<TikTokFormField[]>
  subscribe(a: {
    accessToken: string
    advertiserId: string
    pageId: string | null
    callbackUrl: string
  }): Promise<string>
  listSubscriptions(): Promise<TikTokSubscription[]>
  unsubscribe(subscriptionId: string): Promise<void>
  createMockLead(accessToken: string, advertiserId: string, pageId: string): Promise<{ leadId: string }>
  getMockLead(accessToken: string, advertiserId: string, pageId: string): Promise<{ leadId: string } | null>
  deleteMockLead(accessToken: string, advertiserId: string, pageId: string, leadId: string): Promise<void>
  startLeadTask(accessToken: string, advertiserId: string, pageId: string): Promise<string>
  pollLeadTask(
    accessToken: string,
    advertiserId: string,
    pageId: string,
    taskId: string,
  ): Promise<{ status: LeadTaskStatus; fileType: 'csv' | 'zip' | null }>
  downloadLeadTask(
    accessToken: string,
    advertiserId: string,
    taskId: string,
  ): Promise<{ fileType: 'csv' | 'zip'; body: Readable }>
  /**
   * The ad account's time zone, an IANA name (advertiser/info `display_timezone`, else `timezone`):
   * the zone of its report days. null when TikTok names none the runtime knows.
   */
  advertiserTimeZone(accessToken: string, advertiserId: string): Promise<string | null>
  /** Spend, impressions and clicks per entity and day, `start`..`end` inclusive (≤ 30 days, TikTok's limit by day). */
  dailyReport(
    accessToken: string,
    advertiserId: string,
    level: ReportLevel,
    start: string,
    end: string,
  ): Promise<ReportDayRow[]>
}

export function createTikTokApi(opts: TikTokApiOptions): TikTokApi {
  const sdk = createSdkAuth(opts.apiUrl, opts.timeoutMs)
  const { remember, fail, call, viaSdk, download } = createTransport(opts)
  const app = { app_id: opts.appId, secret: opts.appSecret }

  return {
    async exchangeAuthCode(authCode) {
      remember(authCode)
      const data = await viaSdk('oauth2/access_token', () =>
        sdk.accessToken({ app_id: opts.appId, secret: opts.appSecret, auth_code: authCode }),
      )
      const accessToken = idOf(data['access_token'])
      if (!accessToken) throw fail('oauth2/access_token', 0, 'transient', 'the answer has no access_token')
      remember(accessToken)
      return {
        accessToken,
        advertiserIds: list(data['advertiser_ids']).map(idOf).filter(nonEmpty),
        scope: list(data['scope'])
          .map((s) => Number(s))
          .filter((n) => Number.isFinite(n)),
      }
    },

    async listAdvertisers(accessToken) {
      remember(accessToken)
      const data = await viaSdk('oauth2/advertiser/get', () =>
        sdk.advertiserGet(opts.appId, opts.appSecret, accessToken),
      )
      return records(data['list']).flatMap((a) => {
        const advertiserId = idOf(a['advertiser_id'])
        return advertiserId ? [{ advertiserId, advertiserName: textOf(a['advertiser_name']) ?? advertiserId }] : []
      })
    },

    async revokeToken(accessToken) {
      await call('oauth2/revoke_token', { method: 'POST', body: { ...app, access_token: accessToken } })
    },

    async listForms(accessToken, advertiserId) {
      const forms: TikTokForm[] = []
      for (let page = 1; ; page++) {
        const data = await call('page/get', {
          method: 'GET',
          token: accessToken,
          query: { advertiser_id: advertiserId, business_type: 'LEAD_GEN', page, page_size: 100 },
        })
        const rows = records(data['list'])
        for (const p of rows) {
          const pageId = idOf(p['page_id'])
          if (pageId) forms.push({ pageId, title: textOf(p['title']) ?? '', status: textOf(p['status']) ?? '' })
        }
        if (!hasMorePages(data['page_info'], page, rows.length, 100)) return forms
      }
    },

    async formFields(accessToken, advertiserId, pageId) {
      const data = await call('page/field/get', {
        method: 'GET',
        token: accessToken,
        query: { advertiser_id: advertiserId, page_id: pageId },
      })
      // TikTok documents `fields` as a list of names; objects are accepted in case it sends more.
      return list(data['fields']).flatMap((f): TikTokFormField[] => {
        if (typeof f === 'string') return f.trim() ? [{ name: f.trim(), type: null, options: [] }] : []
        if (!isRecord(f)) return []
        const name = textOf(f['name']) ?? textOf(f['field_name']) ?? textOf(f['label'])
        if (!name) return []
        const options = list(f['options'])
          .map((o) => (isRecord(o) ? (textOf(o['label']) ?? textOf(o['value'])) : textOf(o)))
          .filter(nonEmpty)
        return [{ name, type: textOf(f['type']) ?? textOf(f['field_type']), options }]
      })
    },

    async subscribe(a) {
      const detail: Record<string, unknown> = {
        access_token: a.accessToken,
        lead_source: 'INSTANT_FORM',
        advertiser_id: a.advertiserId,
      }
      if (a.pageId !== null) detail['page_id'] = a.pageId
      remember(a.accessToken)
      const data = await call('subscription/subscribe', {
        method: 'POST',
        body: { ...app, subscribe_entity: 'LEAD', callback_url: a.callbackUrl, subscription_detail: detail },
      })
      const id = idOf(data['subscription_id'])
      if (!id) throw fail('subscription/subscribe', 0, 'transient', 'the answer has no subscription_id')
      return id
    },

    async listSubscriptions() {
      const out: TikTokSubscription[] = []
      for (let page = 1; ; page++) {
        const data = await call('subscription/get', {
          method: 'GET',
          query: { ...app, subscribe_entity: 'LEAD', page, page_size: 1000 },
        })
        const rows = records(data['subscriptions'])
        for (const s of rows) {
          const subscriptionId = idOf(s['subscription_id'])
          if (!subscriptionId) continue
          const d = isRecord(s['subscription_detail']) ? s['subscription_detail'] : {}
          out.push({
            subscriptionId,
            callbackUrl: textOf(s['callback_url']) ?? '',
            advertiserId: idOf(d['advertiser_id']),
            pageId: idOf(d['page_id']),
          })
        }
        if (!hasMorePages(data['page_info'], page, rows.length, 1000)) return out
      }
    },

    async unsubscribe(subscriptionId) {
      await call('subscription/unsubscribe', { method: 'POST', body: { ...app, subscription_id: subscriptionId } })
    },

    async createMockLead(accessToken, advertiserId, pageId) {
      const data = await call('page/lead/mock/create', {
        method: 'POST',
        token: accessToken,
        body: { lead_source: 'INSTANT_FORM', advertiser_id: advertiserId, page_id: pageId },
      })
      const leadId = mockLeadId(data)
      if (!leadId) throw fail('page/lead/mock/create', 0, 'transient', 'the answer has no lead_id')
      return { leadId }
    },

    async getMockLead(accessToken, advertiserId, pageId) {
      try {
        const data = await call('page/lead/mock/get', {
          method: 'GET',
          token: accessToken,
          query: { lead_source: 'INSTANT_FORM', advertiser_id: advertiserId, page_id: pageId },
        })
        const leadId = mockLeadId(data)
        return leadId ? { leadId } : null
      } catch (err) {
        // 40007 "the operation/object does not exist": the form has no test lead.
        if (err instanceof TikTokApiError && err.code === 40007) return null
        throw err
      }
    },

    async deleteMockLead(accessToken, advertiserId, pageId, leadId) {
      await call('page/lead/mock/delete', {
        method: 'POST',
        token: accessToken,
        body: { lead_source: 'INSTANT_FORM', advertiser_id: advertiserId, page_id: pageId, lead_id: leadId },
      })
    },

    async startLeadTask(accessToken, advertiserId, pageId) {
      const data = await call('page/lead/task', {
        method: 'POST',
        token: accessToken,
        body: { advertiser_id: advertiserId, page_id: pageId },
      })
      const taskId = idOf(data['task_id'])
      if (!taskId) throw fail('page/lead/task', 0, 'transient', 'the answer has no task_id')
      return taskId
    },

    async pollLeadTask(accessToken, advertiserId, pageId, taskId) {
      const data = await call('page/lead/task', {
        method: 'POST',
        token: accessToken,
        body: { advertiser_id: advertiserId, page_id: pageId, task_id: taskId },
      })
      const status = textOf(data['status'])
      if (status !== 'CREATED' && status !== 'RUNNING' && status !== 'SUCCEED' && status !== 'FAILED') {
        throw fail('page/lead/task', 0, 'transient', `unknown task status ${JSON.stringify(status)}`)
      }
      const ft = textOf(data['file_type'])?.toLowerCase()
      return { status, fileType: ft === 'csv' || ft === 'zip' ? ft : null }
    },

    downloadLeadTask: download,

    async advertiserTimeZone(accessToken, advertiserId) {
      // `timezone` may be an offset zone (Etc/GMT+8) or a region name; `display_timezone` is the
      // region name (daylight saving time included), so it wins when both are there.
      // @see bububa/tiktok-business model/advertiser/{info,advertiser}.go (advertiser_ids and fields as JSON arrays)
      const data = await call('advertiser/info', {
        method: 'GET',
        token: accessToken,
        query: {
          advertiser_ids: JSON.stringify([advertiserId]),
          fields: JSON.stringify(['advertiser_id', 'timezone', 'display_timezone']),
        },
      })
      const row = records(data['list']).find((a) => idOf(a['advertiser_id']) === advertiserId)
      if (!row) return null
      for (const name of [textOf(row['display_timezone']), textOf(row['timezone'])])
        if (name && isTimeZone(name)) return name
      return null
    },

    async dailyReport(accessToken, advertiserId, level, start, end) {
      // Array parameters travel as JSON text in the query, as TikTok's SDKs send them.
      // @see https://business-api.tiktok.com/portal/docs (Reporting: synchronous report, report/integrated/get)
      const { dataLevel, dimension } = REPORT_LEVELS[level]
      const out: ReportDayRow[] = []
      for (let page = 1; ; page++) {
        const data = await call('report/integrated/get', {
          method: 'GET',
          token: accessToken,
          query: {
            advertiser_id: advertiserId,
            report_type: 'BASIC',
            service_type: 'AUCTION',
            data_level: dataLevel,
            dimensions: JSON.stringify([dimension, 'stat_time_day']),
            metrics: JSON.stringify(['spend', 'impressions', 'clicks']),
            start_date: start,
            end_date: end,
            page,
            page_size: 1000,
          },
        })
        const rows = records(data['list'])
        for (const r of rows) {
          const dims = isRecord(r['dimensions']) ? r['dimensions'] : {}
          const metrics = isRecord(r['metrics']) ? r['metrics'] : {}
          const entityId = idOf(dims[dimension])
          const day = textOf(dims['stat_time_day'])?.slice(0, 10)
          if (!entityId || !day) continue
          const num = (k: string) => {
            const n = Number(textOf(metrics[k]) ?? 0)
            return Number.isFinite(n) ? n : 0
          }
          out.push({ entityId, day, spend: num('spend'), impressions: num('impressions'), clicks: num('clicks') })
        }
        if (!hasMorePages(data['page_info'], page, rows.length, 1000)) return out
      }
    },
  }
}
