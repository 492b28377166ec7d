/**
 * Subscription API for `subscribe_entity: "LEAD"`. Authenticated by app_id + secret in the body,
 * the advertiser token inside `subscription_detail`. No handshake.
 * @see bububa model/subscription/{subscribe,subscription,get,unsubscribe}.go;
 *   reference/tiktok-research.md §1(a): "Subscriptions are organized based on Subscription IDs …
 *   Subscriptions are independent. A page can be included in multiple subscriptions." So the same
 *   request twice makes two subscriptions, and each gets every lead.
 */
import type { FastifyInstance } from 'fastify'
import { api, checkAdvertiser, checkApp, intParam, pageInfo, required, str, type Ctx } from './api.js'
import { ApiError, CODE, MESSAGES } from './envelope.js'
import type { Subscription } from './state.js'

/** bububa enum/subscribe_entity.go */
const ENTITIES = new Set([
  'REPORT_DATA_CHANGE',
  'AD_ACCOUNT_SUSPENSION',
  'LEAD',
  'AD_GROUP',
  'AD',
  'TCM_VIDEOS',
  'CREATIVE_FATIGUE',
  'API_SERVICE_STATUS',
])

/**
 * TikTok requires an HTTPS callback (developers.tiktok.com/doc/webhooks-overview). Test
 * concession: plain http is allowed for loopback hosts, where tests and the demo listen.
 */
function checkCallback(raw: string): void {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ApiError(CODE.PARAM, 'callback_url: invalid URL.')
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ApiError(CODE.PARAM, 'callback_url: must be an https URL.')
  }
}

function detailView(sub: Subscription) {
  // [INFERRED] TikTok does not echo the token back; the field is masked.
  const detail: Record<string, string> = {
    access_token: '***',
    lead_source: sub.leadSource,
    advertiser_id: sub.advertiserId,
  }
  if (sub.pageId !== null) detail['page_id'] = sub.pageId
  return detail
}

export function registerSubscriptions(app: FastifyInstance, ctx: Ctx): void {
  api(app, ctx, 'POST', 'subscription/subscribe', ({ body }) => {
    required(body, 'app_id', 'secret', 'subscribe_entity', 'callback_url', 'subscription_detail')
    checkApp(ctx, body)
    const entity = str(body, 'subscribe_entity') as string
    if (!ENTITIES.has(entity)) throw new ApiError(CODE.PARAM, `subscribe_entity: invalid value ${entity}.`)
    // The emulator plays only lead subscriptions; other entities are real but not emulated.
    if (entity !== 'LEAD')
      throw new ApiError(CODE.PARAM, `subscribe_entity ${entity} is not supported by this emulator.`)
    const callbackUrl = str(body, 'callback_url') as string
    checkCallback(callbackUrl)
    const detail = body['subscription_detail']
    if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
      throw new ApiError(CODE.PARAM, 'subscription_detail: expected an object.')
    }
    const d = detail as Record<string, unknown>
    required(d, 'access_token')
    const leadSource = str(d, 'lead_source') ?? 'INSTANT_FORM'
    if (leadSource !== 'INSTANT_FORM' && leadSource !== 'DIRECT_MESSAGE') {
      throw new ApiError(CODE.PARAM, `lead_source: invalid value ${leadSource}.`)
    }
    const pageId = str(d, 'page_id')
    if (leadSource === 'DIRECT_MESSAGE') {
      if (pageId !== undefined)
        throw new ApiError(CODE.PARAM, 'page_id is not supported when lead_source is DIRECT_MESSAGE.')
      throw new ApiError(CODE.PARAM, 'lead_source DIRECT_MESSAGE is not supported by this emulator.')
    }
    const advertiserId = str(d, 'advertiser_id')
    if (advertiserId === undefined) {
      if (str(d, 'library_id') !== undefined)
        throw new ApiError(CODE.PARAM, 'library_id is not supported by this emulator.')
      throw new ApiError(CODE.PARAM, 'Missing required field(s): advertiser_id or library_id.')
    }
    const accessToken = str(d, 'access_token') as string
    const token = ctx.state.liveToken(accessToken)
    if (!token) throw new ApiError(CODE.TOKEN_INVALID, MESSAGES.tokenInvalid)
    checkAdvertiser(token, advertiserId)
    if (pageId !== undefined) {
      const form = ctx.state.forms.get(pageId)
      if (!form || form.advertiserId !== advertiserId)
        throw new ApiError(CODE.NOT_FOUND, `The page ${pageId} does not exist.`)
    }
    const id = ctx.state.ids.make('73')
    ctx.state.subscriptions.set(id, {
      id,
      callbackUrl,
      accessToken,
      leadSource: 'INSTANT_FORM',
      advertiserId,
      pageId: pageId ?? null,
      deleted: false,
    })
    return { subscription_id: id }
  })

  /** Only live subscriptions are listed. [INFERRED] TikTok's listing of invalidated ones is undocumented. */
  api(app, ctx, 'GET', 'subscription/get', ({ query }) => {
    checkApp(ctx, query)
    const entity = query['subscribe_entity']
    if (entity !== undefined && !ENTITIES.has(entity))
      throw new ApiError(CODE.PARAM, `subscribe_entity: invalid value ${entity}.`)
    const page = intParam(query, 'page', 1, 1, Number.MAX_SAFE_INTEGER)
    const pageSize = intParam(query, 'page_size', 10, 1, 1000)
    const live = [...ctx.state.subscriptions.values()].filter(
      (s) => ctx.state.isValid(s) && (entity === undefined || entity === 'LEAD'),
    )
    const subscriptions = live.slice((page - 1) * pageSize, page * pageSize).map((s) => ({
      app_id: ctx.appId,
      subscription_id: s.id,
      subscribe_entity: 'LEAD',
      callback_url: s.callbackUrl,
      subscription_detail: detailView(s),
    }))
    return { subscriptions, page_info: pageInfo(page, pageSize, live.length) }
  })

  api(app, ctx, 'POST', 'subscription/unsubscribe', ({ body }) => {
    required(body, 'app_id', 'secret', 'subscription_id')
    checkApp(ctx, body)
    const sub = ctx.state.subscriptions.get(str(body, 'subscription_id') as string)
    if (!sub || sub.deleted) throw new ApiError(CODE.NOT_FOUND, 'The subscription does not exist.')
    sub.deleted = true
    return { subscription_id: sub.id }
  })
}

/** Live subscriptions a lead of this form goes to: same advertiser, and same page when one is set. */
export function matching(ctx: Ctx, advertiserId: string, pageId: string): Subscription[] {
  return [...ctx.state.subscriptions.values()].filter(
    (s) => ctx.state.isValid(s) && s.advertiserId === advertiserId && (s.pageId === null || s.pageId === pageId),
  )
}
