import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { isoNow } from '../clock.js'
import type { Lead } from '../db/schema.js'
import type { NormalizedLead } from '../tiktok/schemas.js'
import { type LeadRowView, LeadsPage, ResendAnswer, TestLeadAnswer } from './answers.js'
import { LeadsQuery, ResendBody } from './schemas.js'
import { leadRowView, leadUrlTemplate } from './view-model.js'

/**
 * Leads as the log shows them (also each lead of a card tab, card.ts), with the stage changes
 * sent back to TikTok: one query for all the rows. Lead names are personal data: `personal`
 * (administrators) shows them, everyone else sees them masked.
 */
export async function leadRowsWithEvents(
  app: FastifyInstance,
  rows: Lead[],
  template: string,
  personal: boolean,
): Promise<LeadRowView[]> {
  const events = await app.quality.repo.eventsOfLeads(rows.map((r) => r.id))
  return rows.map((r) => ({ ...leadRowView(r, template, personal), tiktokEvents: events.get(r.id) ?? [] }))
}

/**
 * The delivery log: list leads, send a test lead through the whole pipeline, re-send failed
 * ones. Registered inside /api/settings, behind api-guard.ts.
 */
export async function settingsLeadRoutes(plain: FastifyInstance): Promise<void> {
  const app = plain.withTypeProvider<ZodTypeProvider>()

  app.get(
    '/leads',
    { schema: { summary: 'The delivery log, newest first', querystring: LeadsQuery, response: { 200: LeadsPage } } },
    async (request): Promise<LeadsPage> => {
      const portal = request.portal!
      const q = request.query
      const rows = await app.leads.latest(portal.member_id, { status: q.status, limit: q.limit, beforeId: q.before })
      return {
        leads: await leadRowsWithEvents(app, rows, leadUrlTemplate(portal.domain), request.session!.a),
        nextBefore: rows.length === q.limit ? rows[rows.length - 1]!.id : null,
      }
    },
  )

  const testLeadSchema = { summary: 'Store a sample lead and deliver it', response: { 200: TestLeadAnswer } }
  app.post('/test-lead', { schema: testLeadSchema }, async (request): Promise<TestLeadAnswer> => {
    const m = request.session!.m
    const tiktokLeadId = `test-${app.clock.now()}-${randomBytes(3).toString('hex')}`
    const lead: NormalizedLead = {
      leadId: tiktokLeadId,
      format: 'pull',
      createdAt: isoNow(app.clock),
      formId: null,
      formName: 'Test form (TikTok Leads app)',
      pageId: null,
      pageName: null,
      advertiserId: null,
      advertiserName: null,
      campaignId: null,
      campaignName: 'Test campaign',
      adgroupId: null,
      adgroupName: null,
      adId: null,
      adName: 'Test ad',
      answers: [
        { key: 'name', value: 'Test Lead' },
        { key: 'phone_number', value: '+84912345678' },
        { key: 'email', value: 'test.lead@example.com' },
        { key: 'What are you interested in?', value: 'A demo' },
      ],
    }
    await app.leads.insertMany(
      m,
      [
        {
          tiktokLeadId,
          format: 'pull',
          isTest: true,
          leadJson: JSON.stringify(lead),
          rawJson: JSON.stringify({ test: true }),
        },
      ],
      { scheme: 'test', valid: true },
    )
    const row = (await app.leads.findByTikTokId(m, tiktokLeadId))!
    app.dispatcher.notify(m)
    return { ok: true, leadId: row.id, tiktokLeadId }
  })

  const resendSchema = { summary: 'Send failed leads again', body: ResendBody, response: { 200: ResendAnswer } }
  app.post('/leads/resend', { schema: resendSchema }, async (request): Promise<ResendAnswer> => {
    const body = request.body
    const m = request.session!.m
    const requeued = await app.leads.resend(m, 'all' in body ? 'all-failed' : body.ids)
    if (requeued) app.dispatcher.notify(m)
    return { ok: true, requeued }
  })
}
