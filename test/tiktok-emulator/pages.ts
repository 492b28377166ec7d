/**
 * Instant forms and test leads: `/page/get/`, `/page/field/get/`, `/page/lead/mock/{create,get,delete}/`.
 * @see bububa model/page/{get,page}.go, model/page/field/get.go, model/page/lead/{mock_*,meta}.go
 */
import type { FastifyInstance } from 'fastify'
import {
  api,
  checkAdvertiser,
  checkToken,
  datetime,
  intParam,
  pageInfo,
  required,
  str,
  type ApiRequest,
  type Ctx,
} from './api.js'
import { ApiError, CODE } from './envelope.js'
import type { Form, Lead } from './state.js'
import type { FormField } from './types.js'

/** The token must reach the advertiser, and the form must be that advertiser's. */
function ownForm(ctx: Ctx, req: ApiRequest, source: Record<string, unknown>): Form {
  required(source, 'advertiser_id', 'page_id')
  const token = checkToken(ctx, req)
  const advertiserId = str(source, 'advertiser_id') as string
  checkAdvertiser(token, advertiserId)
  const pageId = str(source, 'page_id') as string
  const form = ctx.state.forms.get(pageId)
  if (!form || form.advertiserId !== advertiserId)
    throw new ApiError(CODE.NOT_FOUND, `The page ${pageId} does not exist.`)
  return form
}

function pageView(form: Form) {
  const published = form.status === 'PUBLISHED'
  return {
    page_id: form.pageId,
    title: form.title,
    status: form.status,
    create_time: datetime(form.createdAt),
    update_time: datetime(form.updatedAt),
    ...(published
      ? { publish_time: datetime(form.createdAt), preview_url: `https://www.tiktok.com/instant-form/${form.pageId}` }
      : {}),
    transfer_status: 'UNSET',
  }
}

/**
 * Sample answers for a test lead. [INFERRED] TikTok's values are undocumented; these look like
 * what a person would type, so mappings get exercised.
 */
export function sampleAnswer(field: FormField): string {
  if (field.options && field.options.length > 0) return field.options[0] as string
  const name = field.name.toLowerCase()
  if (field.type === 'EMAIL' || name.includes('email')) return 'test.lead@example.com'
  if (field.type === 'PHONE_NUMBER' || name.includes('phone')) return '+15555550123'
  if (name === 'name' || name.includes('full_name')) return 'Test Lead'
  if (field.type === 'DATE') return '2025-01-01'
  return 'test answer'
}

/**
 * `meta_data.create_time`: bububa's doc text calls it a "UNIX timestamp"; sent as a number of
 * seconds. [INFERRED] the JSON type (the webhook uses a number too).
 */
export function leadView(lead: Lead) {
  return {
    lead_data: { ...lead.answers },
    meta_data: {
      lead_source: 'INSTANT_FORM',
      lead_id: lead.id,
      page_id: lead.pageId,
      ...lead.campaign,
      create_time: lead.createTime,
    },
  }
}

export function registerPages(app: FastifyInstance, ctx: Ctx, deliver: (form: Form, lead: Lead) => void): void {
  api(app, ctx, 'GET', 'page/get', (req) => {
    const q = req.query
    if (q['advertiser_id'] === undefined && q['library_id'] !== undefined) {
      throw new ApiError(CODE.PARAM, 'library_id is not supported by this emulator.')
    }
    required(q, 'advertiser_id')
    const token = checkToken(ctx, req)
    checkAdvertiser(token, q['advertiser_id'] as string)
    const page = intParam(q, 'page', 1, 1, Number.MAX_SAFE_INTEGER)
    const pageSize = intParam(q, 'page_size', 10, 1, 100)
    const status = q['page_status']
    if (status !== undefined && status !== 'EDITED' && status !== 'PUBLISHED') {
      throw new ApiError(CODE.PARAM, `page_status: invalid value ${status}.`)
    }
    // business_type defaults to LEAD_GEN; every emulated page is an instant form.
    const businessType = q['business_type'] ?? 'LEAD_GEN'
    const title = q['title']
    // [INFERRED] order: oldest first.
    const forms = [...ctx.state.forms.values()].filter(
      (f) =>
        f.advertiserId === q['advertiser_id'] &&
        businessType === 'LEAD_GEN' &&
        (status === undefined || f.status === status) &&
        (title === undefined || f.title.includes(title)),
    )
    return {
      list: forms.slice((page - 1) * pageSize, page * pageSize).map(pageView),
      page_info: pageInfo(page, pageSize, forms.length),
    }
  })

  /** `data.fields` is the list of field names; TikTok gives no types or options. */
  api(app, ctx, 'GET', 'page/field/get', (req) => {
    const form = ownForm(ctx, req, req.query)
    return {
      fields: form.fields.map((f) => f.name),
      meta: {
        page_id: form.pageId,
        create_time: datetime(form.createdAt),
        page_name: form.title,
        page_url: `https://www.tiktok.com/instant-form/${form.pageId}`,
      },
    }
  })

  /**
   * "Only one test lead can be created per lead form. To create a new one you must delete the
   * previous one." [INFERRED] the test lead is pushed through the subscriptions like a real one
   * ("end-to-end testing of lead collection after subscribing"), with error code 40002 for a second one.
   */
  api(app, ctx, 'POST', 'page/lead/mock/create', (req) => {
    const leadSource = str(req.body, 'lead_source') ?? 'INSTANT_FORM'
    if (leadSource !== 'INSTANT_FORM')
      throw new ApiError(CODE.PARAM, `lead_source ${leadSource} is not supported by this emulator.`)
    const form = ownForm(ctx, req, req.body)
    if (form.testLead) {
      throw new ApiError(
        CODE.PARAM,
        'A test lead already exists for this form. Delete it with /page/lead/mock/delete/ first.',
      )
    }
    const answers = Object.fromEntries(form.fields.map((f) => [f.name, sampleAnswer(f)]))
    const lead = ctx.state.makeLead(form, answers, Math.floor(ctx.now() / 1000))
    form.testLead = lead
    deliver(form, lead)
    return leadView(lead)
  })

  api(app, ctx, 'GET', 'page/lead/mock/get', (req) => {
    const form = ownForm(ctx, req, req.query)
    if (!form.testLead) throw new ApiError(CODE.NOT_FOUND, 'The test lead does not exist.')
    return leadView(form.testLead)
  })

  /** bububa models `page_id`; `lead_id`, when sent, must name the form's test lead. [INFERRED] */
  api(app, ctx, 'POST', 'page/lead/mock/delete', (req) => {
    const form = ownForm(ctx, req, req.body)
    const leadId = str(req.body, 'lead_id')
    if (!form.testLead || (leadId !== undefined && leadId !== form.testLead.id)) {
      throw new ApiError(CODE.NOT_FOUND, 'The test lead does not exist.')
    }
    form.testLead = null
    return {}
  })
}
