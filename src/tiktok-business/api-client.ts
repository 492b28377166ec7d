import { Readable, Transform } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { TikTokApiError, type TikTokErrorKind } from '../errors.js'
import { backoffDelay, type BackoffOptions } from '../delivery/backoff.js'
import { parseJsonPreservingBigInts } from '../tiktok/json.js'
import type { TikTokLimiter } from './limiter.js'
import { createSdkAuth, type SdkOutcome } from './sdk-auth.js'

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
 *   one kind (see `classify`); `rate_limited` (40100) is retried here with backoff and jitter.
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
  /** Tests inject these. */
  sleep?: (ms: number) => Promise<void>
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
}

// ---------------------------------------------------------------------------------------------
// Return codes → kinds

/**
 * TikTok's return codes, from its return-code page (business-api.tiktok.com/portal/docs?id=1737172488964097)
 * as catalogued in api-evangelist/tiktok-ads `errors/tiktok-ads-error-codes.yml`.
 */
const RATE_LIMITED = new Set([
  40100, // requests too frequent: the developer app's quota
  40016, // the same, for one endpoint
  40133, // the same, for one advertiser
])
const TOKEN_INVALID = new Set([
  40102, // the access token has expired
  40104, // the access token is empty
  40105, // invalid or incorrect access token (also revoked: reference/tiktok.md §6)
  40106, // the core user is invalid (token no longer valid for the advertiser)
])
const PERMISSION = new Set([
  40001, // no permission to perform the operation (scope not granted, not the account's admin)
  40118, // app or advertiser not on the feature's allowlist
  40119, // developer and advertiser do not belong to the same company
  40125, // the developer does not have the permission
])
const TRANSIENT = new Set([
  40201, // task is not ready
  40202, // write conflict: "retry may resolve this issue"
  60001, // maintenance
])

export function classify(code: number): TikTokErrorKind {
  if (RATE_LIMITED.has(code)) return 'rate_limited'
  if (TOKEN_INVALID.has(code)) return 'token_invalid'
  if (PERMISSION.has(code)) return 'permission'
  // 5xxxx: "service error" (50000 system error, 50002, 51305).
  if (TRANSIENT.has(code) || (code >= 50000 && code < 60000)) return 'transient'
  return 'bad_request'
}

const KIND_TEXT: Record<TikTokErrorKind, string> = {
  rate_limited: 'the app is over its TikTok quota',
  token_invalid: 'the advertiser token is empty, expired or revoked',
  permission: 'the token lacks a permission for this',
  bad_request: 'TikTok refused the request',
  transient: 'TikTok did not answer usably',
}

const DEFAULT_RETRY = { attempts: 5, baseMs: 1000, maxMs: 30_000 }

interface Envelope {
  code: number
  message: string
  requestId: string | null
  data: Record<string, unknown>
}

type Query = Record<string, string | number | undefined>

export function createTikTokApi(opts: TikTokApiOptions): TikTokApi {
  const base = `${opts.apiUrl.replace(/\/+$/, '')}/open_api/v1.3`
  const retry = opts.retry ?? DEFAULT_RETRY
  const backoff: BackoffOptions = { baseMs: retry.baseMs, maxMs: retry.maxMs }
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const random = opts.random ?? Math.random
  const sdk = createSdkAuth(opts.apiUrl, opts.timeoutMs)
  /** Values that must never be quoted back, whatever TikTok echoes. */
  const secrets = new Set<string>([opts.appSecret])
  const remember = (s: string) => {
    if (secrets.size > 10_000) secrets.clear()
    secrets.add(opts.appSecret).add(s)
  }

  function scrub(text: string): string {
    let out = text.slice(0, 300)
    for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]')
    return out
  }

  function fail(
    endpoint: string,
    code: number,
    kind: TikTokErrorKind,
    detail: string,
    requestId: string | null = null,
  ): TikTokApiError {
    return new TikTokApiError(
      code,
      kind,
      endpoint,
      `TikTok ${endpoint}: ${KIND_TEXT[kind]} (${scrub(detail)})`,
      requestId,
    )
  }

  /** HTTP status + raw text → the envelope of a successful answer, or a TikTokApiError. */
  function readEnvelope(endpoint: string, status: number, text: string): Envelope {
    if (status !== 200) throw fail(endpoint, 0, 'transient', `HTTP ${status}`)
    let parsed: unknown
    try {
      parsed = parseJsonPreservingBigInts(text)
    } catch {
      throw fail(endpoint, 0, 'transient', 'the answer is not JSON')
    }
    if (!isRecord(parsed) || parsed['code'] === undefined)
      throw fail(endpoint, 0, 'transient', 'the answer has no code')
    const code = Number(parsed['code'])
    const requestId = typeof parsed['request_id'] === 'string' ? parsed['request_id'] : null
    const message = typeof parsed['message'] === 'string' ? parsed['message'] : ''
    if (!Number.isFinite(code)) throw fail(endpoint, 0, 'transient', 'the answer has no numeric code')
    if (code !== 0)
      throw fail(endpoint, code, classify(code), `code ${code}${message ? `: ${message}` : ''}`, requestId)
    return { code, message, requestId, data: isRecord(parsed['data']) ? parsed['data'] : {} }
  }

  /** One attempt through the limiter, then retries of rate_limited answers with backoff. */
  async function withRetry<T>(endpoint: string, attempt: () => Promise<T>): Promise<T> {
    const attempts = Math.max(1, retry.attempts)
    for (let n = 1; ; n++) {
      const started = Date.now()
      try {
        const out = await opts.limiter.run(attempt)
        opts.log?.debug({ endpoint, attempt: n, ms: Date.now() - started }, 'TikTok call done')
        return out
      } catch (err) {
        if (!(err instanceof TikTokApiError) || err.kind !== 'rate_limited' || n >= attempts) {
          if (err instanceof TikTokApiError) {
            opts.log?.warn(
              { endpoint, attempt: n, code: err.code, kind: err.kind, requestId: err.requestId },
              'TikTok call failed',
            )
          }
          throw err
        }
        const delay = backoffDelay(n, backoff, random)
        opts.log?.warn({ endpoint, attempt: n, of: attempts, delayMs: delay }, 'TikTok rate limit (40100), retrying')
        await sleep(delay)
      }
    }
  }

  function url(endpoint: string, query?: Query): string {
    const u = new URL(`${base}/${endpoint}/`)
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v))
    return u.toString()
  }

  function headers(token: string | undefined, json: boolean): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json' }
    if (json) h['content-type'] = 'application/json'
    if (token !== undefined) h['Access-Token'] = token
    return h
  }

  /** A JSON endpoint through fetch: the envelope's `data` on code 0. */
  function call(
    endpoint: string,
    req: { method: 'GET' | 'POST'; token?: string; query?: Query; body?: Record<string, unknown> },
  ): Promise<Record<string, unknown>> {
    if (req.token !== undefined) remember(req.token)
    return withRetry(endpoint, async () => {
      let status: number
      let text: string
      try {
        const res = await fetch(url(endpoint, req.query), {
          method: req.method,
          headers: headers(req.token, req.body !== undefined),
          body: req.body !== undefined ? JSON.stringify(req.body) : undefined,
          signal: AbortSignal.timeout(opts.timeoutMs),
        })
        status = res.status
        text = await res.text()
      } catch (err) {
        throw fail(endpoint, 0, 'transient', networkReason(err, opts.timeoutMs))
      }
      return readEnvelope(endpoint, status, text).data
    })
  }

  function viaSdk(endpoint: string, invoke: () => Promise<SdkOutcome>): Promise<Record<string, unknown>> {
    return withRetry(endpoint, async () => {
      const outcome = await invoke()
      if (outcome.kind === 'failed') throw fail(endpoint, 0, 'transient', outcome.reason)
      return readEnvelope(endpoint, outcome.status, outcome.text).data
    })
  }

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

    async downloadLeadTask(accessToken, advertiserId, taskId) {
      const endpoint = 'page/lead/task/download'
      remember(accessToken)
      return withRetry(endpoint, async () => {
        // The timeout covers the wait for the answer's headers, not the whole file.
        const controller = new AbortController()
        const timer = setTimeout(() => controller.abort(new DOMException('timeout', 'TimeoutError')), opts.timeoutMs)
        let res: Response
        try {
          res = await fetch(url(endpoint, { advertiser_id: advertiserId, task_id: taskId }), {
            headers: { ...headers(accessToken, false), accept: '*/*' },
            signal: controller.signal,
          })
        } catch (err) {
          throw fail(endpoint, 0, 'transient', networkReason(err, opts.timeoutMs))
        } finally {
          clearTimeout(timer)
        }
        const type = (res.headers.get('content-type') ?? '').toLowerCase()
        // An error arrives as the JSON envelope instead of the file.
        if (res.status !== 200 || type.includes('json') || res.body === null) {
          let text = ''
          try {
            text = await res.text()
          } catch {
            throw fail(endpoint, 0, 'transient', 'the answer could not be read')
          }
          readEnvelope(endpoint, res.status, text)
          throw fail(endpoint, 0, 'transient', 'TikTok answered JSON instead of the file')
        }
        const disposition = res.headers.get('content-disposition') ?? ''
        const fileType: 'csv' | 'zip' = type.includes('zip') || /\.zip\b/i.test(disposition) ? 'zip' : 'csv'
        const raw = Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>)
        return {
          fileType,
          body: idleTimeout(raw, opts.timeoutMs, () =>
            fail(endpoint, 0, 'transient', `the download stalled for ${opts.timeoutMs} ms`),
          ),
        }
      })
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Reading answers

/**
 * The file passed through, failing with `onIdle()` when no byte arrives for `ms`: a download may
 * take long, but a stalled one must not hang the backfill for ever. The clock runs only while the
 * consumer is reading (a slow consumer is not a stalled download).
 */
function idleTimeout(source: Readable, ms: number, onIdle: () => Error): Readable {
  let timer: NodeJS.Timeout | undefined
  const out = new Transform({
    transform(chunk, _enc, done) {
      clearTimeout(timer)
      done(null, chunk)
    },
    flush(done) {
      clearTimeout(timer)
      done()
    },
    read(size) {
      arm()
      Transform.prototype._read.call(this, size)
    },
    destroy(err, done) {
      clearTimeout(timer)
      source.destroy()
      done(err)
    },
  })
  const arm = () => {
    clearTimeout(timer)
    timer = setTimeout(() => out.destroy(onIdle()), ms)
    timer.unref?.()
  }
  source.on('error', (err) => out.destroy(err))
  source.pipe(out)
  return out
}

function networkReason(err: unknown, timeoutMs: number): string {
  const name = err instanceof Error ? err.name : ''
  if (name === 'TimeoutError' || name === 'AbortError') return `timed out after ${timeoutMs} ms`
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined
  return typeof cause?.code === 'string' ? `network error ${cause.code}` : 'network error'
}

/** `page_info` {page, page_size, total_number, total_page}; without it, a full page means "maybe more". */
function hasMorePages(info: unknown, page: number, rows: number, pageSize: number): boolean {
  if (rows === 0) return false
  if (isRecord(info)) {
    const totalPage = Number(info['total_page'])
    if (Number.isFinite(totalPage)) return page < totalPage
    const total = Number(info['total_number'])
    if (Number.isFinite(total)) return page * pageSize < total
  }
  return rows >= pageSize
}

/** The test lead's id: `meta_data.lead_id` of `{lead_data, meta_data}` (maybe under `data.lead`). */
function mockLeadId(data: Record<string, unknown>): string | null {
  const lead = isRecord(data['lead']) ? data['lead'] : data
  const meta = isRecord(lead['meta_data']) ? lead['meta_data'] : {}
  return idOf(meta['lead_id']) ?? idOf(lead['lead_id'])
}

/** An id as a string: strings as they are (big ones were quoted by the parser), safe integers printed. */
function idOf(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() || null
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v)
  return null
}

function textOf(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() || null
  if (typeof v === 'number') return String(v)
  return null
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : []
}

function records(v: unknown): Array<Record<string, unknown>> {
  return list(v).filter(isRecord)
}

function nonEmpty(v: string | null): v is string {
  return v !== null && v !== ''
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
