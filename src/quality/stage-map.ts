import { z } from 'zod'
import type { B24Entity, StageSemantic } from '../db/schema.js'

/**
 * Which Bitrix24 stage becomes which TikTok CRM event. Stages come from `crm.status.list`
 * (ENTITY_ID=STATUS for leads, DEAL_STAGE for the deals of simple CRM mode) with their SEMANTICS
 * ("S" success, "F" failure, empty in progress). The default follows those semantics and TikTok
 * Leads Center's own statuses (Raw, Contacted, Qualified, Unqualified, Converted): the first stage
 * sends nothing (the lead itself is already TikTok's), the first in-progress stage after it is
 * Contacted, later ones Qualified, success Converted, failure Unqualified.
 * @see https://apidocs.bitrix24.com/api-reference/crm/status/crm-status-list.html
 * @see reference/tiktok.md §8
 */

/** Leads Center's statuses, offered first; a custom name is allowed too (TikTok maps it in Events Manager). */
export const STANDARD_EVENTS = ['Contacted', 'Qualified', 'Converted', 'Unqualified', 'Raw'] as const

export const EventName = z
  .string()
  .trim()
  .min(1, 'an event name cannot be empty')
  .max(64)
  .regex(/^[\p{L}\p{N} _.-]+$/u, 'letters, digits, spaces, _ . - only')

/** stage id → event name, or null for "send nothing" */
export const StageMap = z.record(z.string().min(1).max(64), EventName.nullable())
export type StageMap = z.infer<typeof StageMap>

/** What a connection stores: one map per CRM entity (a portal can switch CRM modes). */
export const StoredStageMaps = z.object({ lead: StageMap.optional(), deal: StageMap.optional() })
export type StoredStageMaps = z.infer<typeof StoredStageMaps>

export interface Stage {
  id: string
  name: string
  sort: number
  semantic: StageSemantic
}

const StatusRow = z.object({
  STATUS_ID: z.string(),
  NAME: z.string().nullable().optional(),
  SORT: z.union([z.string(), z.number()]).nullable().optional(),
  SEMANTICS: z.string().nullable().optional(),
  EXTRA: z.object({ SEMANTICS: z.string().nullable().optional() }).partial().nullable().optional(),
})

/** `crm.status.list` rows → stages in the portal's order (SORT). */
export function parseStages(result: unknown): Stage[] {
  const rows = z.array(StatusRow).parse(result)
  return rows
    .map((r) => {
      const letter = r.SEMANTICS ?? ''
      const extra = r.EXTRA?.SEMANTICS ?? ''
      const semantic: StageSemantic =
        letter === 'S' || extra === 'success'
          ? 'S'
          : letter === 'F' || extra === 'failure' || extra === 'apology'
            ? 'F'
            : 'P'
      return { id: r.STATUS_ID, name: r.NAME ?? r.STATUS_ID, sort: Number(r.SORT ?? 0) || 0, semantic }
    })
    .sort((a, b) => a.sort - b.sort)
}

export function defaultStageMap(stages: Stage[]): StageMap {
  const out: StageMap = {}
  let inProgress = 0
  for (const [i, s] of stages.entries()) {
    if (i === 0) out[s.id] = null
    else if (s.semantic === 'S') out[s.id] = 'Converted'
    else if (s.semantic === 'F') out[s.id] = 'Unqualified'
    else out[s.id] = inProgress++ === 0 ? 'Contacted' : 'Qualified'
  }
  return out
}

/** The saved map over the default: stages added since keep their default, removed ones drop out. */
export function effectiveStageMap(stages: Stage[], saved: StageMap | undefined): StageMap {
  const def = defaultStageMap(stages)
  if (!saved) return def
  const out: StageMap = {}
  for (const s of stages) out[s.id] = s.id in saved ? (saved[s.id] ?? null) : (def[s.id] ?? null)
  return out
}

export function readStoredMaps(json: string | null): StoredStageMaps {
  if (!json) return {}
  try {
    const parsed = StoredStageMaps.safeParse(JSON.parse(json))
    return parsed.success ? parsed.data : {}
  } catch {
    return {}
  }
}

/** The event a stage change sends, or null (not mapped, or mapped to nothing). */
export function eventFor(maps: StoredStageMaps, entity: B24Entity, stageId: string): string | null {
  return maps[entity]?.[stageId] ?? null
}

/**
 * Bitrix24's initial stage ids: NEW for leads and the deals of the general pipeline, C<n>:NEW in
 * other pipelines. A stage read that is not one of these, or that differs from the last read, means
 * a person moved the lead: its first contact.
 */
export function isInitialStage(stageId: string): boolean {
  return stageId === 'NEW' || /^C\d+:NEW$/.test(stageId)
}
