import { z } from 'zod'
import type { B24Entity, StageSemantic } from '../db/schema.js'

/**
 * Which Bitrix24 stage becomes which TikTok CRM event. Stages come from `crm.status.list`
 * (ENTITY_ID=STATUS for leads, DEAL_STAGE for the deals of simple CRM mode) with their SEMANTICS
 * ("S" success, "F" failure, empty in progress). The default follows those semantics and TikTok
 * Leads Center's own statuses (Raw, Contacted, Qualified, Unqualified, Converted): the initial stage
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
  for (const s of stages) {
    // The initial stage is where the lead arrives: the lead itself, nothing to send.
    if (isInitialStage(s.id)) out[s.id] = null
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
 * Bitrix24's initial stage: the system stage NEW of the lead list and of the deals' general
 * pipeline, C<n>:NEW in pipeline n (crm.status.add prefixes a pipeline's stage ids with C<n>:).
 * A record written without a stage starts there ("by default, the first available stage"). The
 * one rule of the app: the default map sends nothing for it, the analytics do not count a lead
 * standing there as qualified (initialStageSql is the same rule in SQL), and a lead delivered
 * without a mapped stage is taken to be there.
 * @see https://apidocs.bitrix24.com/api-reference/crm/deals/crm-deal-add.html (STAGE_ID, CATEGORY_ID)
 * @see https://apidocs.bitrix24.com/api-reference/crm/status/crm-status-add.html
 */
export function isInitialStage(stageId: string): boolean {
  return stageId === 'NEW' || /^C[0-9]+:NEW$/.test(stageId)
}

/**
 * isInitialStage as an SQL condition on a text column (SQLite has no regular expressions: GLOB is
 * case-sensitive like the test above, and the part between C and :NEW must be digits only).
 * `column` is a column name of the app's own, never user input.
 */
export function initialStageSql(column: string): string {
  return `(${column} = 'NEW' or (${column} glob 'C[0-9]*:NEW' and substr(${column}, 2, length(${column}) - 5) not glob '*[^0-9]*'))`
}

/** The initial stage of a deal pipeline (0: the general one). */
export function initialStageOf(categoryId: number): string {
  return categoryId > 0 ? `C${categoryId}:NEW` : 'NEW'
}

const text = (v: unknown): string | null =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : null

/**
 * The stage a lead is written at, from its mapped Bitrix24 fields (lead field names; in simple
 * CRM mode they go to the deal, STAGE_ID and CATEGORY_ID as its stageId and categoryId): the
 * mapped STATUS_ID (a deal's STAGE_ID), else the initial stage (of the mapped pipeline). What the
 * app sent is all it can know without another request: the portal's own default is "the first
 * available stage", its system NEW, which a crm.status.list per batch would only confirm. The
 * stage read after an offline event is compared with this one: only a real change is a move.
 */
export function deliveredStageOf(entity: B24Entity, fields: Record<string, unknown>): string {
  if (entity === 'lead') return text(fields.STATUS_ID) ?? initialStageOf(0)
  const mapped = text(fields.STAGE_ID)
  if (mapped) return mapped
  const category = Number(text(fields.CATEGORY_ID) ?? 0)
  return initialStageOf(Number.isInteger(category) && category > 0 ? category : 0)
}
