import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { manifest } from '../../manifest/app.js'
import { Errors } from '../errors.js'
import { validateMappingAgainstFields } from '../mapping/schemas.js'
import { mapStoredLead, nameOptions } from '../mapping/stored-lead.js'
import { settingsContext } from './api-guard.js'
import { MappingPreview, MappingSaved } from './answers.js'
import { MappingBody, PreviewBody } from './schemas.js'
import { maskDeep, maskPersonal } from './view-model.js'

/**
 * The mapping editor: save a mapping (checked against the portal's fields) and preview one on
 * the latest lead. Registered inside /api/settings, behind api-guard.ts.
 */
export async function settingsMappingRoutes(plain: FastifyInstance): Promise<void> {
  const app = plain.withTypeProvider<ZodTypeProvider>()

  const saveSchema = { summary: 'Save the mapping', body: MappingBody, response: { 200: MappingSaved } }
  app.post('/mapping', { schema: saveSchema }, async (request): Promise<MappingSaved> => {
    const mapping = request.body
    const { session, portal, conf } = await settingsContext(app, request)
    const { raw } = await app.portalFields.load(session.m)
    const errors = validateMappingAgainstFields(mapping, raw)
    if (errors.length) throw Errors.mappingInvalid(errors)
    await app.settings.update(session.m, { mapping_json: JSON.stringify(mapping) })
    const latest = (await app.leads.latest(session.m, { limit: 1 }))[0]
    const warnings = latest
      ? mapStoredLead(latest, {
          ...nameOptions(conf, portal.lang),
          mapping,
          defaultCountry: conf.default_country,
          originatorId: manifest.code,
          portalFields: raw,
        }).warnings
      : []
    return { ok: true, mapping, warnings }
  })

  const previewSchema = {
    summary: 'What a mapping makes of the latest lead',
    body: PreviewBody,
    response: { 200: MappingPreview },
  }
  const preview = { schema: previewSchema, config: { readOnly: true } }
  app.post('/preview', preview, async (request): Promise<MappingPreview> => {
    const { mapping } = request.body
    const { session, portal, conf } = await settingsContext(app, request)
    // The latest real lead if there is one among the last 20, else the latest (a test lead).
    const rows = await app.leads.latest(session.m, { limit: 20 })
    const latest = rows.find((r) => r.is_test === 0) ?? rows[0]
    if (!latest) return { lead: null, fields: {}, warnings: [] }
    const { raw } = await app.portalFields.load(session.m).catch(() => ({ raw: undefined }))
    const { lead, fields, warnings } = mapStoredLead(latest, {
      ...nameOptions(conf, portal.lang),
      mapping,
      defaultCountry: conf.default_country,
      originatorId: manifest.code,
      ...(raw ? { portalFields: raw } : {}),
    })
    if (session.a) return { lead: { tiktokLeadId: lead.leadId, answers: lead.answers }, fields, warnings }
    // Not an administrator: the shape of the mapping without the person's data.
    const hide = (text: string) =>
      lead.answers
        .reduce((out, a) => (a.value.trim().length > 2 ? out.split(a.value).join(maskPersonal(a.value)) : out), text)
        .replace(/\+?\d[\d ()-]{5,}\d/g, (d) => maskPersonal(d))
    return {
      lead: {
        tiktokLeadId: lead.leadId,
        answers: lead.answers.map((a) => ({ ...a, value: maskPersonal(a.value) })),
      },
      // a record in, a record out: maskDeep keeps the shape and masks the strings
      fields: maskDeep(fields) as MappingPreview['fields'],
      warnings: warnings.map(hide),
    }
  })
}
