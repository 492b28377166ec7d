import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { manifest } from '../../manifest/app.js'
import { effectiveMode, SIMPLE } from '../bitrix24/crm-mode.js'
import { publicBase } from '../bitrix24/routes.js'
import type { Config } from '../config.js'
import { mappingOf } from '../mapping/stored-lead.js'
import { Errors, TikTokApiError } from '../errors.js'
import { MappingConfig } from '../mapping/schemas.js'
import { DAY_MS } from '../tiktok-business/context.js'
import { buildTikTokView } from '../tiktok-business/view.js'
import { parseInput } from '../validation.js'
import type { createFieldsCache } from './portal-data.js'

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
 * of settings/routes.ts apply to every route here).
 */
export function tiktokSettingsRoutes(config: Config, fieldsCache: ReturnType<typeof createFieldsCache>) {
  return async function routes(api: FastifyInstance): Promise<void> {
    const connector = () => {
      if (!api.tiktok.connector) throw Errors.tiktokNotConfigured()
      return api.tiktok.connector
    }
    const view = async (request: FastifyRequest) => {
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

    api.get('/tiktok', async (request) => view(request))

    api.post('/tiktok/connect', async (request) => {
      const s = request.session!
      const redirectUri = new URL(manifest.paths.tiktokOAuthCallback, publicBase(config, request)).toString()
      return { authUrl: await connector().startConnect(s.m, { id: s.u, name: s.n }, redirectUri) }
    })

    /** An admin action on the connection: parse the body, act, answer the section's new view. */
    const action = <S extends z.ZodType>(
      path: string,
      schema: S,
      what: string,
      run: (memberId: string, body: z.infer<S>) => Promise<unknown>,
    ) =>
      api.post(path, async (request) => {
        const body = parseInput(schema, request.body, what)
        await tiktokCall(() => run(request.session!.m, body))
        return view(request)
      })

    action('/tiktok/grant', GrantBody, 'grant', (m, b) =>
      connector().selectGrant(m, b.grantId, b.advertiserIds, b.importDays),
    )
    action('/tiktok/grant/cancel', GrantCancelBody, 'grant', (m, b) => connector().cancelGrant(m, b.grantId))
    action('/tiktok/forms', FormsBody, 'forms', (m, b) =>
      connector().setForms(m, b.advertiserId, b.allForms, b.pageIds),
    )
    action('/tiktok/disconnect', AdvertiserBody, 'disconnect', (m, b) => connector().disconnect(m, b.advertiserId))
    action('/tiktok/check', AdvertiserBody, 'check', async (m, b) =>
      api.tiktok.check(await connector().own(m, b.advertiserId)),
    )
    action('/tiktok/backfill', BackfillBody, 'backfill', async (m, b) => {
      const conn = await connector().own(m, b.advertiserId)
      // TikTok prepares the export in its own time (up to minutes): answer now, the tab reloads to see it.
      void connector().backfillSoon(conn, Date.now() - b.days * DAY_MS, b.pageId)
    })

    api.post('/tiktok/test-lead', async (request) => {
      const body = parseInput(FormBody, request.body, 'test lead')
      const leadId = await tiktokCall(() => connector().testLead(request.session!.m, body.advertiserId, body.pageId))
      return { ok: true, leadId }
    })

    /** Create a lead field for a form's question and map the question to it. */
    api.post('/tiktok/create-field', async (request) => {
      const body = parseInput(CreateFieldBody, request.body, 'field')
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
