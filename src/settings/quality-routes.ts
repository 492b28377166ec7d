import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { effectiveMode, SIMPLE } from '../bitrix24/crm-mode.js'
import type { B24Entity, TikTokConnection } from '../db/schema.js'
import { Errors, TikTokApiError } from '../errors.js'
import {
  defaultStageMap,
  effectiveStageMap,
  parseStages,
  readStoredMaps,
  STANDARD_EVENTS,
  type Stage,
  StageMap,
} from '../quality/stage-map.js'
import type { CrmEventSet } from '../tiktok-business/events-api.js'
import { QualityView } from './answers.js'

const Id = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be a TikTok id')
const QualityQuery = z.object({ advertiserId: Id })
const QualityBody = z.object({
  advertiserId: Id,
  /** null: send nothing for this ad account */
  eventSetId: Id.nullable(),
  /** stage id → event name or null; stages left out keep their default */
  stageMap: StageMap.default({}),
})

/**
 * Lead quality back to TikTok, per connected ad account: which CRM event set receives the stage
 * changes (crm/list) and which stage sends which event. Registered inside /api/settings, behind
 * api-guard.ts: everyone may read, administrators change.
 */
export async function settingsQualityRoutes(plain: FastifyInstance): Promise<void> {
  const api = plain.withTypeProvider<ZodTypeProvider>()

  const own = async (memberId: string, advertiserId: string): Promise<TikTokConnection> => {
    const conn = await api.tiktok.repo.findConnection(advertiserId)
    // Another portal's ad account looks exactly like a missing one.
    if (!conn || conn.member_id !== memberId) throw Errors.notFound('this ad account is not connected to this portal')
    return conn
  }

  /** The portal's stages of what TikTok leads become here: lead statuses, or deal stages in simple CRM mode. */
  const stagesOf = async (memberId: string): Promise<{ entity: B24Entity; stages: Stage[] }> => {
    const portal = await api.portals.find(memberId)
    const entity: B24Entity = effectiveMode(portal ?? { crm_mode: null }) === SIMPLE ? 'deal' : 'lead'
    const { result } = await api.b24.forPortal(memberId, { priority: 1 }).call<unknown>('crm.status.list', {
      filter: { ENTITY_ID: entity === 'deal' ? 'DEAL_STAGE' : 'STATUS' },
      order: { SORT: 'ASC' },
    })
    return { entity, stages: parseStages(result) }
  }

  const eventSetsOf = async (conn: TikTokConnection): Promise<{ sets: CrmEventSet[]; error: string | null }> => {
    const events = api.quality.events
    if (!events) return { sets: [], error: Errors.tiktokNotConfigured().message }
    try {
      return {
        sets: await events.listCrmEventSets(api.secretBox.open(conn.token_sealed), conn.advertiser_id),
        error: null,
      }
    } catch (err) {
      if (err instanceof TikTokApiError) return { sets: [], error: err.message }
      throw err
    }
  }

  const viewOf = (
    conn: TikTokConnection,
    entity: B24Entity,
    stages: Stage[],
    sets: { sets: CrmEventSet[]; error: string | null },
  ): QualityView => {
    const saved = readStoredMaps(conn.crm_stage_map_json)[entity]
    const map = effectiveStageMap(stages, saved)
    const def = defaultStageMap(stages)
    return {
      advertiserId: conn.advertiser_id,
      entity,
      eventSets: sets.sets,
      eventSetsError: sets.error,
      chosen: conn.crm_event_set_id
        ? { eventSetId: conn.crm_event_set_id, name: conn.crm_event_set_name ?? conn.crm_event_set_id }
        : null,
      saved: saved !== undefined,
      stages: stages.map((s) => ({
        id: s.id,
        name: s.name,
        semantic: s.semantic,
        event: map[s.id] ?? null,
        defaultEvent: def[s.id] ?? null,
      })),
      standardEvents: [...STANDARD_EVENTS],
    }
  }

  api.get(
    '/quality',
    {
      schema: {
        summary: "An ad account's CRM event sets and the Bitrix24 stage → TikTok event map",
        querystring: QualityQuery,
        response: { 200: QualityView },
      },
    },
    async (request): Promise<QualityView> => {
      const m = request.session!.m
      const conn = await own(m, request.query.advertiserId)
      const { entity, stages } = await stagesOf(m)
      return viewOf(conn, entity, stages, await eventSetsOf(conn))
    },
  )

  api.post(
    '/quality',
    {
      schema: {
        summary: 'Choose the CRM event set and save the stage map of an ad account',
        body: QualityBody,
        response: { 200: QualityView },
      },
    },
    async (request): Promise<QualityView> => {
      const m = request.session!.m
      const body = request.body
      const conn = await own(m, body.advertiserId)
      const { entity, stages } = await stagesOf(m)
      const known = new Set(stages.map((s) => s.id))
      const unknown = Object.keys(body.stageMap).filter((id) => !known.has(id))
      if (unknown.length) throw Errors.qualityUnknownStage(unknown.join(', '))
      const sets = await eventSetsOf(conn)
      let chosen: CrmEventSet | null = null
      if (body.eventSetId !== null) {
        if (!api.quality.events) throw Errors.tiktokNotConfigured()
        // The set must be the ad account's: TikTok refuses a foreign one only at the first send.
        if (sets.error) throw Errors.tiktokUpstream(sets.error)
        chosen = sets.sets.find((s) => s.eventSetId === body.eventSetId) ?? null
        if (!chosen) throw Errors.qualityUnknownEventSet(body.eventSetId)
      }
      const maps = readStoredMaps(conn.crm_stage_map_json)
      maps[entity] = effectiveStageMap(stages, { ...maps[entity], ...body.stageMap })
      await api.quality.repo.setEventSet(m, conn.advertiser_id, chosen, maps, api.clock.now())
      request.log.info(
        { memberId: m, advertiserId: conn.advertiser_id, eventSetId: chosen?.eventSetId ?? null, entity },
        'lead quality settings saved',
      )
      const updated = await own(m, conn.advertiser_id)
      return viewOf(updated, entity, stages, sets)
    },
  )
}
