import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { systemClock } from '../clock.js'
import { type BackoffOptions, backoffDelay } from '../delivery/backoff.js'
import { TikTokApiError, type TikTokErrorKind } from '../errors.js'
import { parseJsonPreservingBigInts } from '../tiktok/json.js'
import type { TikTokApiOptions } from './api-client.js'
import { isRecord } from './api-values.js'
import { idleTimeout } from './idle-timeout.js'
import { classify, KIND_TEXT } from './return-codes.js'
import type { SdkOutcome } from './sdk-auth.js'

/**
 * How every TikTok call is made: through the app-wide limiter, `rate_limited` retried with
 * backoff, the answer's envelope checked, and every token or secret scrubbed from what an error
 * quotes. The endpoints (api-client.ts) only say what to send and what to read back.
 */

const DEFAULT_RETRY = { attempts: 5, baseMs: 1000, maxMs: 30_000 }

export interface Envelope {
  code: number
  message: string
  requestId: string | null
  data: Record<string, unknown>
}

export type Query = Record<string, string | number | undefined>

export type TikTokTransport = ReturnType<typeof createTransport>

export function createTransport(opts: TikTokApiOptions) {
  const base = `${opts.apiUrl.replace(/\/+$/, '')}/open_api/v1.3`
  const retry = opts.retry ?? DEFAULT_RETRY
  const backoff: BackoffOptions = { baseMs: retry.baseMs, maxMs: retry.maxMs }
  const clock = opts.clock ?? systemClock
  const random = opts.random ?? Math.random
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
      const started = clock.now()
      try {
        const out = await opts.limiter.run(attempt)
        opts.log?.debug({ endpoint, attempt: n, ms: clock.now() - started }, 'TikTok call done')
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
        await clock.sleep(delay)
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

  /** The lead download: a file, not an envelope (one comes only when TikTok refuses). */
  async function download(
    accessToken: string,
    advertiserId: string,
    taskId: string,
  ): Promise<{ fileType: 'csv' | 'zip'; body: Readable }> {
    const endpoint = 'page/lead/task/download'
    remember(accessToken)
    return withRetry(endpoint, async () => {
      // The timeout covers the wait for the answer's headers, not the whole file. Network timeouts
      // stay on real time, like AbortSignal.timeout in call(): a socket does not follow a test's clock.
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
  }

  return { remember, fail, call, viaSdk, download }
}

function networkReason(err: unknown, timeoutMs: number): string {
  const name = err instanceof Error ? err.name : ''
  if (name === 'TimeoutError' || name === 'AbortError') return `timed out after ${timeoutMs} ms`
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined
  return typeof cause?.code === 'string' ? `network error ${cause.code}` : 'network error'
}
