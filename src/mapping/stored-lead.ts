import type { Lead, PortalSettings } from '../db/schema.js'
import type { NormalizedLead } from '../tiktok/schemas.js'
import { mapLead, type MapLeadOptions, type MappedLead } from './map-lead.js'
import { NAME_ORDERS, type NameOrder } from './name-order.js'
import { MappingConfig } from './schemas.js'

/**
 * A portal's stored settings and leads read as mapping input: shared by delivery (at send time)
 * and the settings tab (its preview), so neither imports the other.
 */

/** The portal's stored mapping; a row that no longer parses falls back to the defaults. */
export function mappingOf(conf: PortalSettings): MappingConfig {
  const parsed = MappingConfig.safeParse(JSON.parse(conf.mapping_json))
  return parsed.success ? parsed.data : { rules: [], constants: {} }
}

/** The portal's name order and language, for splitting a full name (portal lang from portals.lang). */
export function nameOptions(conf: PortalSettings, lang?: string | null): Pick<MapLeadOptions, 'nameOrder' | 'lang'> {
  const order = (NAME_ORDERS as readonly string[]).includes(conf.name_order) ? (conf.name_order as NameOrder) : 'auto'
  return { nameOrder: order, lang: lang ?? null }
}

/**
 * A stored lead through a mapping. Intake wrote `lead_json` after validating it against
 * NormalizedLead, so it is not validated again on the delivery hot path.
 */
export function mapStoredLead(row: Lead, opts: MapLeadOptions): MappedLead & { lead: NormalizedLead } {
  const lead = JSON.parse(row.lead_json) as NormalizedLead
  return { lead, ...mapLead(lead, opts) }
}
