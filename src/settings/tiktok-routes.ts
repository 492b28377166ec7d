import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { manifest } from '../../manifest/app.js'
import { effectiveMode, SIMPLE } from '../bitrix24/crm-mode.js'
import type { Config } from '../config.js'
import { mappingOf } from '../mapping/stored-lead.js'
import { Errors, TikTokApiError } from '../errors.js'
import { MappingConfig } from '../mapping/schemas.js'
import { publicBase } from '../public-url.js'
import { DAY_MS } from '../tiktok-business/context.js'
import { buildTikTokView } from '../tiktok-business/view.js'
import { FieldCreated, TikTokConnectAnswer, TikTokTestLeadAnswer, TikTokView } from './answers.js'

const Id = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be a TikTok id')
const GrantBody = z.object({
  grantId: Id,
  advertiserIds: z.array(Id).min(1).max(50),
  importDays: z.number().int().min(0).max(90),
})
const GrantCancelBody = z.object({ grantId: Id })
const FormsBody = z.object({ advertiserId: Id, allForms: z.boolean(), pageIds: z.array(Id).max(500) })
const AdvertiserBody = z.object({ advertiserId: Id })
const BackfillBody = z.object({ advertiserId: Id, pageId: Id.optional(), days: z.number().int().min(1).max(90) })
const FormBody = z.object({ advertiserId: Id, pageId: Id })
const CreateFieldBody = z.object({
  advertiserId: Id,
  pageId: Id,
  question: z.string().trim().min(1).max(500),
  type: z.enum(['string', 'enumeration']).default('string'),
  items: z.array(z.string().trim().min(1).max(250)).max(100).default([]),
})

/**
 * The TikTok section's API (registered inside /api/settings, so the session, CSRF and admin checks
 * of api-guard.ts apply to every route here).
 */
export function tiktokSettingsRoutes(config: Config) {
  return async function routes(plain: FastifyInstance): Promise<void> {
    const api = plain.withTypeProvider<ZodTypeProvider>()
    const fieldsCache = api.portalFields
    const connector = () => {
      if (!api.tiktok.connector) throw Errors.tiktokNotConfigured()
      return api.tiktok.connector
    }
    const view = async (request: Pick<FastifyRequest, 'session'>): Promise<TikTokView> => {
      const s = request.session!
      const conf = await api.settings.ensure(s.m)
      return buildTikTokView(api.tiktok.ctx, s.m, mappingOf(conf), s.l)
    }
    /** TikTok's refusals become 502 with its reason, so the tab can show it. */
    const tiktokCall = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn()
      } catch (err) {
        if (err instanceof TikTokApiError) throw Errors.tiktokUpstream(`${err.message} (code ${err.code})`)
        throw err
      }
    }

    api.get(
      '/tiktok',
      { schema: { summary: 'The TikTok section: connections, ad accounts, forms', response: { 200: TikTokView } } },
      async (request) => view(request),
    )

    const connectSchema = { summary: "TikTok's authorisation URL to open", response: { 200: TikTokConnectAnswer } }
    api.post('/tiktok/connect', { schema: connectSchema }, async (request): Promise<TikTokConnectAnswer> => {
      const s = request.session!
      const redirectUri = new URL(manifest.paths.tiktokOAuthCallback, publicBase(config, request)).toString()
      return { authUrl: await connector().startConnect(s.m, { id: s.u, name: s.n }, redirectUri) }
    })

    /** An admin action on the connection: act (TikTok's refusals become 502), answer the section's new view. */
    const act = async (request: Pick<FastifyRequest, 'session'>, run: (memberId: string) => Promise<unknown>) => {
      await tiktokCall(() => run(request.session!.m))
      return view(request)
    }
    const body = <S extends z.ZodType>(schema: S, summary: string) => ({
      schema: { summary, body: schema, response: { 200: TikTokView } },
    })

    api.post('/tiktok/grant', body(GrantBody, 'Connect the chosen ad accounts of an authorisation'), (request) => {
      const b = request.body
      return act(request, (m) => connector().selectGrant(m, b.grantId, b.advertiserIds, b.importDays))
    })
    api.post('/tiktok/grant/cancel', body(GrantCancelBody, 'Drop an authorisation'), (request) =>
      act(request, (m) => connector().cancelGrant(m, request.body.grantId)),
    )
    api.post('/tiktok/forms', body(FormsBody, 'Which lead forms of an ad account deliver'), (request) => {
      const b = request.body
      return act(request, (m) => connector().setForms(m, b.advertiserId, b.allForms, b.pageIds))
    })
    api.post('/tiktok/disconnect', body(AdvertiserBody, 'Disconnect an ad account'), (request) =>
      act(request, (m) => connector().disconnect(m, request.body.advertiserId)),
    )
    api.post('/tiktok/check', body(AdvertiserBody, 'Check a connection now'), (request) =>
      act(request, async (m) => api.tiktok.check(await connector().own(m, request.body.advertiserId))),
    )
    api.post('/tiktok/backfill', body(BackfillBody, 'Import the leads of the last days'), (request) => {
      const b = request.body
      return act(request, async (m) => {
        const conn = await connector().own(m, b.advertiserId)
        // TikTok prepares the export in its own time (up to minutes): answer now, the tab reloads to see it.
        void connector().backfillSoon(conn, api.clock.now() - b.days * DAY_MS, b.pageId)
      })
    })

    const testLeadSchema = {
      summary: "Ask TikTok to send a form's test lead",
      body: FormBody,
      response: { 200: TikTokTestLeadAnswer },
    }
    api.post('/tiktok/test-lead', { schema: testLeadSchema }, async (request): Promise<TikTokTestLeadAnswer> => {
      const body = request.body
      const leadId = await tiktokCall(() => connector().testLead(request.session!.m, body.advertiserId, body.pageId))
      return { ok: true, leadId }
    })

    /** Create a lead field for a form's question and map the question to it. */
    const createFieldSchema = {
      summary: "Create a CRM field for a form's question and map it",
      body: CreateFieldBody,
      response: { 200: FieldCreated },
    }
    api.post('/tiktok/create-field', { schema: createFieldSchema }, async (request): Promise<FieldCreated> => {
      const body = request.body
      const m = request.session!.m
      const { fieldName, fields } = await connector().fieldFor(
        m,
        body.advertiserId,
        body.pageId,
        body.question,
        body.type,
        body.items,
      )
      const existing = (await fieldsCache.load(m)).raw[fieldName]
      // In simple CRM mode (leads off) the answer goes to the deal, so the field is made there (same parameters).
      // @see https://apidocs.bitrix24.com/api-reference/crm/deals/user-defined-fields/crm-deal-userfield-add.html
      const simple = effectiveMode((await api.portals.find(m)) ?? { crm_mode: null }) === SIMPLE
      if (!existing)
        await api.b24
          .forPortal(m, { priority: 1 })
          .call(simple ? 'crm.deal.userfield.add' : 'crm.lead.userfield.add', { fields })
      fieldsCache.forget(m)
      // Delivery maps list answers through enumMap (answer text → item ID), so read the new items' IDs back.
      const made = (await fieldsCache.load(m)).raw[fieldName]
      const items = made?.items ?? []
      const enumMap = items.length ? Object.fromEntries(items.map((i) => [i.VALUE, String(i.ID)])) : undefined
      const conf = await api.settings.ensure(m)
      const current = mappingOf(conf)
      const rules = [
        ...current.rules.filter((r) => r.source !== body.question),
        { source: body.question, target: fieldName, ...(enumMap ? { enumMap } : {}) },
      ]
      const mapping = MappingConfig.parse({ ...current, rules })
      await api.settings.update(m, { mapping_json: JSON.stringify(mapping) })
      request.log.info({ memberId: m, fieldName }, 'lead field created for a TikTok question')
      return { fieldName, mapping }
    })
  }
}
