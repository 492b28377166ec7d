import type { FastifyInstance } from 'fastify'
import { manifest } from '../../manifest/app.js'
import { DetailTabOptions } from '../bitrix24/schemas.js'
import type { B24Entity, Lead, Portal } from '../db/schema.js'
import { Errors } from '../errors.js'
import { SECRET_KEYS } from '../logger.js'
import { parseJsonPreservingBigInts } from '../tiktok/json.js'
import { NormalizedLead } from '../tiktok/schemas.js'
import type { CardLeadView, CardView, LeadRowView } from './answers.js'
import { leadRowsWithEvents } from './lead-routes.js'
import { leadUrlTemplate, maskDeep, maskPersonal } from './view-model.js'

/**
 * The card tab: a Bitrix24 lead's (or, in simple CRM mode, deal's) TikTok story, for the tab the
 * app binds in its card (manifest: CRM_LEAD_DETAIL_TAB, CRM_DEAL_DETAIL_TAB). The page (routes.ts)
 * embeds it and GET /api/settings/card (card-routes.ts) answers it again; both read it here.
 * @see https://apidocs.bitrix24.com/api-reference/widgets/crm/detail-tab.html
 */

/** Which card each bound tab is in: the code names the record type (PLACEMENT_OPTIONS carries only its ID). */
const TAB_ENTITY: Record<string, B24Entity> = { CRM_LEAD_DETAIL_TAB: 'lead', CRM_DEAL_DETAIL_TAB: 'deal' }
const BOUND = new Set<string>(manifest.placements.map((p) => p.code))

/**
 * The record a page open is for when it comes from one of our card tabs; null for every other
 * placement (the settings tab). A card tab that names no record is refused before any REST call.
 */
export function detailTabOf(
  placement: string,
  placementOptions: string | undefined,
): { entity: B24Entity; id: number } | null {
  const entity = BOUND.has(placement) ? TAB_ENTITY[placement] : undefined
  if (!entity) return null
  let options: unknown
  try {
    options = JSON.parse(placementOptions ?? '')
  } catch {
    options = undefined
  }
  const parsed = DetailTabOptions.safeParse(options)
  if (!parsed.success) throw Errors.badRequest(`${placement}: PLACEMENT_OPTIONS name no record (ID)`)
  return { entity, id: parsed.data.ID }
}

/** Field names that hold credentials (the logger's list), and anything named like one. */
const SECRET_KEY = new Set(SECRET_KEYS.map((k) => k.toLowerCase()))
const SECRET_LIKE = /token|secret|signature|password|api[_-]?key/i

/** A payload with every value under a credential-like key replaced: a forwarder may send anything. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets)
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        SECRET_KEY.has(k.toLowerCase()) || SECRET_LIKE.test(k) ? '[redacted]' : redactSecrets(v),
      ]),
    )
  return value
}

/**
 * The stored raw payload, parsed keeping TikTok's 19-digit ids exact (as strings: a JS number would
 * round them), else its text as it came; null once purged.
 */
function rawOf(row: Lead): unknown {
  if (row.raw_json === '') return null
  try {
    return parseJsonPreservingBigInts(row.raw_json)
  } catch {
    return row.raw_json
  }
}

const named = (id: string | null, name: string | null) => ({ id, name })

/** One lead's story: its log row (with the events sent back), where it came from, what it carried. */
function withRow(row: Lead, logRow: LeadRowView, personal: boolean): CardLeadView {
  const parsed = NormalizedLead.safeParse(parseJson(row.lead_json))
  const lead = parsed.success ? parsed.data : null
  const mask = (v: string) => (personal ? v : maskPersonal(v))
  const raw = rawOf(row)
  return {
    ...logRow,
    tiktokEvents: logRow.tiktokEvents ?? [],
    createdAt: lead?.createdAt ?? null,
    // The stored origin columns (tiktok/origin.ts, the analytics' grouping), so the card and the
    // analytics name a lead's form and ad alike.
    form: named(row.page_id, row.form_name),
    advertiser: named(row.advertiser_id, lead?.advertiserName ?? null),
    campaign: named(row.campaign_id, row.campaign_name),
    adgroup: named(row.adgroup_id, row.adgroup_name),
    ad: named(row.ad_id, row.ad_name),
    answers: (lead?.answers ?? []).map((a) => ({ key: a.key, value: mask(a.value) })),
    raw: raw === null ? null : redactSecrets(personal ? raw : maskDeep(raw)),
    purged: row.raw_json === '',
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * The story of one Bitrix24 record of this portal: only leads of `portal` delivered to that
 * entity and id (another portal's lead with the same id is another record). Personal data
 * (names, answers, the payload) for administrators only, masked for other users, as in the log.
 */
export async function buildCardView(
  app: FastifyInstance,
  args: { portal: Portal; entity: B24Entity; b24Id: number; personal: boolean },
): Promise<CardView> {
  const { portal, entity, b24Id, personal } = args
  const rows = await app.leads.ofB24Record(portal.member_id, entity, b24Id)
  const logRows = await leadRowsWithEvents(app, rows, leadUrlTemplate(portal.domain), personal)
  return {
    entity,
    b24Id,
    personal,
    leads: rows.map((row, i) => withRow(row, logRows[i]!, personal)),
  }
}
