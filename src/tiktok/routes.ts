import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { manifest } from '../../manifest/app.js'
import { ConfigSchema, type Config } from '../config.js'
import type { IncomingLead } from '../db/repositories/lead-inserts.js'
import { activeSecrets } from '../db/repositories/settings.js'
import { Errors } from '../errors.js'
import { normalizeTikTokBody } from './adapters.js'
import { leadOrigin } from './origin.js'
import { JsonDepthError, parseJsonPreservingBigInts, topLevelArrayElements } from './json.js'
import { type NormalizedLead, TikTokLeadWebhook } from './schemas.js'
import { verifyTikTokRequest } from './verify.js'
import { createWebhookBudget } from './webhook-budget.js'

const WebhookParams = z.object({
  key: z
    .string()
    .min(16)
    .max(128)
    .regex(/^[A-Za-z0-9_-]+$/)
    .describe("the portal's webhook key, shown in the settings tab"),
})

/** What a lead notification is answered with once it is stored (or knowingly ignored). */
const WebhookResult = z.object({
  ok: z.literal(true),
  ignored: z.string().optional(),
  received: z.number().int().optional(),
  stored: z.number().int().optional(),
  duplicates: z.number().int().optional(),
})

/**
 * The route's schema is published in the OpenAPI document but not enforced by Fastify: the
 * signature is over the exact bytes, so the handler checks the key and the signature first and
 * then parses the body itself (an unknown key must stay a 404, whatever the body).
 */
const webhookRoute = {
  schema: {
    summary: 'TikTok lead notification (TikTok pushes, forwarders and test tools post here)',
    params: WebhookParams,
    body: TikTokLeadWebhook,
    response: { 200: WebhookResult },
  },
  validatorCompiler: () => () => true,
}

/**
 * Leads one request may carry. TikTok pushes one lead per notification; 100 leaves room for
 * forwarders that batch, and bounds what one request can make the database and the queue do.
 */
export const MAX_LEADS_PER_REQUEST = 100

/**
 * `application/json` or a JSON-based type (`application/vnd.api+json`), any parameters; a charset,
 * when given, must be UTF-8, since the body is decoded as UTF-8 and signed as received.
 */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false
  const [type = '', ...params] = header.split(';')
  if (!/^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/i.test(type.trim())) return false
  for (const param of params) {
    const [name = '', value = ''] = param.split('=')
    if (name.trim().toLowerCase() === 'charset' && !/^"?utf-?8"?$/i.test(value.trim())) return false
  }
  return true
}

export interface TikTokRoutesOptions {
  config?: Pick<Config, 'WEBHOOK_MAX_REQUESTS_PER_MIN' | 'WEBHOOK_MAX_BYTES_PER_MIN'>
}

/**
 * TikTok lead intake: verify, normalise, store durably, and only then answer 200.
 * TikTok retries anything but a 200 for up to 72 hours, so a duplicate is answered 200 too.
 * @see https://developers.tiktok.com/doc/webhooks-overview, https://developers.tiktok.com/doc/webhooks-verification
 */
export async function tiktokRoutes(app: FastifyInstance, opts: TikTokRoutesOptions = {}): Promise<void> {
  // Signatures are over the exact bytes received, so the body is kept raw and parsed here; the
  // content type is checked in the handler, after the key, so an unknown key is always a 404.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

  const limits =
    opts.config ?? ConfigSchema.pick({ WEBHOOK_MAX_REQUESTS_PER_MIN: true, WEBHOOK_MAX_BYTES_PER_MIN: true }).parse({})
  const budget = createWebhookBudget({
    requestsPerMin: limits.WEBHOOK_MAX_REQUESTS_PER_MIN,
    bytesPerMin: limits.WEBHOOK_MAX_BYTES_PER_MIN,
  })
  const budgetWarnedAt = new Map<string, number>()

  // What the settings tab shows ("last request: TikTok-Signature valid") is written when it changes,
  // or every 30 s, not on every one of thousands of requests.
  const lastRecorded = new Map<string, { what: string; at: number }>()
  async function recordVerification(memberId: string, scheme: string, detail: string, nowMs: number): Promise<void> {
    const what = `${scheme}\0${detail}`
    const last = lastRecorded.get(memberId)
    if (last && last.what === what && nowMs - last.at < 30_000) return
    lastRecorded.set(memberId, { what, at: nowMs })
    await app.settings.recordVerification(memberId, scheme, detail)
  }

  app.post(manifest.paths.tiktokWebhook, webhookRoute, async (request, reply) => {
    const params = WebhookParams.safeParse(request.params)
    const conf = params.success ? await app.settings.findByWebhookKey(params.data.key) : undefined
    if (!conf) throw Errors.notFound('no portal has this webhook URL')
    const memberId = conf.member_id
    // memberId goes into each line rather than a child logger: this route runs thousands of times a second.
    const log = request.log
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)

    const nowMs = app.clock.now()
    // Charged per key, before anything else is done for the request; only known keys get here.
    const spent = budget.take(params.data!.key, raw.length, nowMs)
    if (!spent.ok) {
      // Once per portal per 10 s: a flood must not turn into a flood of log lines.
      if (nowMs - (budgetWarnedAt.get(memberId) ?? 0) >= 10_000) {
        budgetWarnedAt.set(memberId, nowMs)
        log.warn(
          { memberId, exceeded: spent.exceeded, bytes: raw.length },
          'webhook refused: budget of this webhook URL exceeded',
        )
      }
      reply.header('retry-after', String(spent.retryAfterS))
      throw Errors.webhookBudgetExceeded(
        `more than ${spent.exceeded === 'requests' ? `${limits.WEBHOOK_MAX_REQUESTS_PER_MIN} requests` : `${limits.WEBHOOK_MAX_BYTES_PER_MIN} bytes`} per minute`,
      )
    }
    if (!isJsonContentType(request.headers['content-type'])) {
      throw Errors.unsupportedMediaType(
        `got ${JSON.stringify((request.headers['content-type'] ?? '(none)').slice(0, 100))}`,
      )
    }

    // Pushes from the app's own TikTok subscriptions are signed with the developer app's secret;
    // forwarders and the portal's own tooling sign with the portal's secret. Either verifies.
    const secrets = app.tiktok.appSecret
      ? [...activeSecrets(conf, nowMs), app.tiktok.appSecret]
      : activeSecrets(conf, nowMs)
    // Enforce: only a verified header signature passes. The URL key is no signature (it is shown
    // in the tab and sits in proxies' logs), and a missing or blank header is no signature either.
    const enforce = conf.verify_mode === 'enforce'
    const check = verifyTikTokRequest({
      rawBody: raw,
      headers: request.headers,
      secrets,
      urlKeyMatched: true,
      requireSignature: enforce,
      nowMs,
    })
    await recordVerification(memberId, check.scheme, check.detail, nowMs)
    if (!check.valid || (enforce && !check.signatureValid)) {
      if (enforce) {
        log.warn({ memberId, scheme: check.scheme, detail: check.detail }, 'webhook refused: verification failed')
        throw Errors.unauthorized(`signature verification failed (${check.detail})`)
      }
      log.warn(
        { memberId, scheme: check.scheme, detail: check.detail },
        'webhook failed verification; accepted (log-only mode)',
      )
    }

    if (raw.length === 0) throw Errors.badRequest('the body is empty; expected a JSON lead notification')
    const text = raw.toString('utf8')
    let body: unknown
    try {
      body = parseJsonPreservingBigInts(text)
    } catch (err) {
      if (err instanceof JsonDepthError) throw Errors.badRequest(`the body nests too deep (${err.message})`)
      throw Errors.badRequest(`the body is not valid JSON (${(err as Error).message})`)
    }
    const normalized = normalizeTikTokBody(body)
    if (normalized.kind === 'ignored') {
      log.info({ memberId, reason: normalized.reason }, 'webhook acknowledged, nothing to store')
      return reply.send({ ok: true, ignored: normalized.reason })
    }
    if (normalized.leads.length > MAX_LEADS_PER_REQUEST) {
      throw Errors.tooManyLeads(`${normalized.leads.length} leads; at most ${MAX_LEADS_PER_REQUEST} per request`)
    }
    // Answered only after insertMany resolves, which is after COMMIT: TikTok's 200 means stored.
    const stored = await app.leads.insertMany(
      memberId,
      toIncoming(normalized.leads, text, body),
      { scheme: check.scheme, valid: check.valid },
      nowMs,
    )
    if (stored > 0) app.dispatcher.notify(memberId)
    log.info({ memberId, received: normalized.leads.length, stored }, 'leads stored')
    return reply.send({
      ok: true,
      received: normalized.leads.length,
      stored,
      duplicates: normalized.leads.length - stored,
    })
  })
}

/**
 * Each lead keeps its own slice of the raw body: the whole body when it carries one lead, else the
 * lead's entry exactly as written (storing the whole body on every lead made one 87 KB request of
 * 2,000 entries take 174 MB). Entries map to leads one to one and in order (adapters.ts).
 */
function toIncoming(leads: NormalizedLead[], text: string, body: unknown): IncomingLead[] {
  const incoming = (l: NormalizedLead, rawJson: string): IncomingLead => ({
    tiktokLeadId: l.leadId,
    format: l.format,
    isTest: false,
    leadJson: JSON.stringify(l),
    rawJson,
    origin: leadOrigin(l),
  })
  if (leads.length === 1) return [incoming(leads[0]!, text)]
  const slices = topLevelArrayElements(text, 'entry')
  const entries = (body as { entry?: unknown[] }).entry
  return leads.map((l, i) =>
    incoming(l, slices && slices.length === leads.length ? slices[i]! : JSON.stringify(entries?.[i] ?? l)),
  )
}
