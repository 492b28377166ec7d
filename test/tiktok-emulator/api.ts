/**
 * One `/open_api/v1.3/<endpoint>/` route: faults first (an outage answers before anything else),
 * then the quota (the app-wide one, or `/event/track/`'s own), then the handler, then the
 * envelope and a record in `calls`. Handlers return `data` or throw ApiError; a handler that
 * answers a file (the lead download) returns a `FileAnswer` instead.
 */
import type { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError, CODE, fail, MESSAGES, ok, redact } from './envelope.js'
import type { FaultSwitch } from './faults.js'
import type { AccessToken, TikTokState } from './state.js'
import type { RecordedApiCall, TikTokFaultKind } from './types.js'

export const API_PREFIX = '/open_api/v1.3'

export interface Ctx {
  state: TikTokState
  appId: string
  appSecret: string
  now: () => number
  calls: RecordedApiCall[]
  counters: { throttled: number; eventTrackThrottled: number }
  quota: Quota
  /** `/event/track/`'s own, larger quota. */
  eventQuota: Quota
  faults: FaultSwitch
}

export interface RouteOptions {
  /** 'events': `/event/track/`'s own quota instead of the app-wide one. */
  quota?: 'app' | 'events'
}

export class FileAnswer {
  constructor(
    readonly contentType: string,
    readonly fileName: string,
    readonly stream: Readable,
  ) {}
}

export interface ApiRequest {
  query: Record<string, string>
  body: Record<string, unknown>
  /** The `Access-Token` header, if any. */
  accessToken: string | undefined
  headers: FastifyRequest['headers']
}

type Handler = (req: ApiRequest) => unknown | Promise<unknown>

/**
 * App-wide quota over every endpoint and token: sliding windows of one second and one minute.
 * Throttled calls do not count. [INFERRED] the window kind; TikTok states only the numbers.
 * @see reference/tiktok.md §6: "about 10 requests/s and 600/min per developer app … HTTP 200 with
 *   code 40100 and no Retry-After"
 */
export class Quota {
  private readonly stamps: number[] = []

  constructor(
    private readonly perSecond: number,
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {}

  take(): boolean {
    const at = this.now()
    while (this.stamps.length > 0 && (this.stamps[0] as number) <= at - 60_000) this.stamps.shift()
    let lastSecond = 0
    for (let i = this.stamps.length - 1; i >= 0 && (this.stamps[i] as number) > at - 1000; i--) lastSecond++
    if (lastSecond >= this.perSecond || this.stamps.length >= this.perMinute) return false
    this.stamps.push(at)
    return true
  }
}

export function api(
  app: FastifyInstance,
  ctx: Ctx,
  method: 'GET' | 'POST',
  endpoint: string,
  handler: Handler,
  opts: RouteOptions = {},
): void {
  const url = `${API_PREFIX}/${endpoint}/`
  const events = opts.quota === 'events'
  app.route({
    method,
    url,
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const query = flatQuery(request.query)
      const body = isObject(request.body) ? request.body : {}
      const record = (code: number, fault?: TikTokFaultKind) =>
        ctx.calls.push({
          at: ctx.now(),
          method,
          path: url,
          query: redact(query) as Record<string, string>,
          body: redact(request.body ?? null),
          code,
          ...(fault !== undefined ? { fault } : {}),
        })
      const fault = ctx.faults.take(endpoint)
      if (fault === 500 || fault === 503) {
        record(-1, fault)
        return reply
          .code(fault)
          .type('text/plain; charset=utf-8')
          .send(fault === 500 ? 'Internal Server Error' : 'Service Unavailable')
      }
      if (fault === 'reset') {
        record(-1, fault)
        return cut(request, reply)
      }
      if (fault === 'system-error') {
        record(CODE.SYSTEM, fault)
        return fail(ctx.now(), CODE.SYSTEM, MESSAGES.system)
      }
      if (!(events ? ctx.eventQuota : ctx.quota).take()) {
        if (events) ctx.counters.eventTrackThrottled++
        else ctx.counters.throttled++
        record(CODE.RATE_LIMIT, fault)
        if (fault === 'reset-after-processing') return cut(request, reply)
        return fail(ctx.now(), CODE.RATE_LIMIT, MESSAGES.rateLimit)
      }
      const header = request.headers['access-token']
      const accessToken = typeof header === 'string' && header !== '' ? header : undefined
      let answer: unknown
      try {
        const data = await handler({ query, body, accessToken, headers: request.headers })
        record(CODE.OK, fault)
        if (data instanceof FileAnswer) {
          if (fault === 'reset-after-processing') return cut(request, reply)
          reply.header('content-type', data.contentType)
          reply.header('content-disposition', `attachment; filename="${data.fileName}"`)
          return reply.send(data.stream)
        }
        answer = ok(ctx.now(), data ?? {})
      } catch (error) {
        if (!(error instanceof ApiError)) throw error
        record(error.code, fault)
        answer = fail(ctx.now(), error.code, error.message)
      }
      if (fault === 'reset-after-processing') return cut(request, reply)
      return answer
    },
  })
}

/** The connection drops without an answer: the client sees a network error. */
function cut(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.hijack()
  request.raw.socket.destroy()
  return reply
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function flatQuery(query: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (!isObject(query)) return out
  for (const [key, value] of Object.entries(query)) {
    if (typeof value === 'string') out[key] = value
    else if (Array.isArray(value) && typeof value[0] === 'string') out[key] = value[0]
  }
  return out
}

// ---- checks shared by the endpoints -------------------------------------------

/** "Missing required field(s): …" is TikTok's 40002 wording (api-evangelist errors yml example). */
export function required(source: Record<string, unknown>, ...names: string[]): void {
  const missing = names.filter((n) => source[n] === undefined || source[n] === null || source[n] === '')
  if (missing.length > 0) throw new ApiError(CODE.PARAM, `Missing required field(s): ${missing.join(', ')}.`)
}

export function str(source: Record<string, unknown>, name: string): string | undefined {
  const value = source[name]
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value === 'string') return value
  // ids sent as JSON numbers: TikTok takes them, but a big one has already lost digits client-side.
  if (typeof value === 'number' && Number.isInteger(value)) return String(value)
  throw new ApiError(CODE.PARAM, `${name}: expected a string.`)
}

export function checkApp(ctx: Ctx, source: Record<string, unknown>): void {
  required(source, 'app_id', 'secret')
  if (source['app_id'] !== ctx.appId || source['secret'] !== ctx.appSecret)
    throw new ApiError(CODE.APP_AUTH, MESSAGES.appAuth)
}

/**
 * The token comes only in the `Access-Token` header: `Authorization: Bearer` is not read, so a
 * request with only that header is a request without a token (40104).
 * @see api-evangelist/tiktok-ads authentication yml: "a plain Access-Token HEADER — not an OAuth bearer token"
 */
export function checkToken(ctx: Ctx, req: ApiRequest): AccessToken {
  if (req.accessToken === undefined) throw new ApiError(CODE.TOKEN_EMPTY, MESSAGES.tokenEmpty)
  const token = ctx.state.liveToken(req.accessToken)
  if (!token) throw new ApiError(CODE.TOKEN_INVALID, MESSAGES.tokenInvalid)
  return token
}

/** The token must have been granted the advertiser. [INFERRED] 40001 for an unknown advertiser too. */
export function checkAdvertiser(token: AccessToken, advertiserId: string): void {
  if (!token.advertiserIds.includes(advertiserId)) {
    throw new ApiError(CODE.NO_PERMISSION, `No permission to operate advertiser ${advertiserId}.`)
  }
}

export function intParam(
  source: Record<string, unknown>,
  name: string,
  dflt: number,
  min: number,
  max: number,
): number {
  const raw = source[name]
  if (raw === undefined || raw === '') return dflt
  const value = typeof raw === 'number' ? raw : Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ApiError(CODE.PARAM, `${name}: must be an integer from ${min} to ${max}.`)
  }
  return value
}

export function pageInfo(page: number, pageSize: number, total: number) {
  return { page, page_size: pageSize, total_number: total, total_page: Math.ceil(total / pageSize) }
}

/** `YYYY-MM-DD HH:MM:SS` UTC, TikTok's datetime format (bububa model/types.go DateTime). */
export function datetime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ')
}
