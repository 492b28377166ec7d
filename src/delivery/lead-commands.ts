import { stringify } from 'qs'
import type { Lead, PortalSettings } from '../db/schema.js'
import { mapLead } from '../mapping/map-lead.js'
import { MappingConfig } from '../mapping/schemas.js'
import { NormalizedLead } from '../tiktok/schemas.js'

export interface LeadCommand {
  key: string
  command: string
  row: Lead
}

/** The portal's stored mapping; a row that no longer parses falls back to the defaults. */
export function mappingOf(conf: PortalSettings): MappingConfig {
  const parsed = MappingConfig.safeParse(JSON.parse(conf.mapping_json))
  return parsed.success ? parsed.data : { rules: [], constants: {} }
}

/** crm.lead.add fields for one stored lead, with the portal's current mapping (applied at send time, so edits reach queued leads). */
export function leadFields(row: Lead, conf: PortalSettings, originatorId: string): { fields: Record<string, unknown>; warnings: string[] } {
  const lead = NormalizedLead.parse(JSON.parse(row.lead_json))
  return mapLead(lead, { mapping: mappingOf(conf), defaultCountry: conf.default_country, originatorId })
}

/**
 * `batch` commands (`crm.lead.add?fields[...]=…`, PHP-style nested keys) keyed `lead_<row id>`.
 * A lead whose stored data cannot be mapped fails alone.
 * @see https://apidocs.bitrix24.com/api-reference/crm/leads/crm-lead-add.html
 */
export function buildLeadCommands(rows: Lead[], conf: PortalSettings, originatorId: string): { commands: LeadCommand[]; failed: Array<{ id: number; error: string }> } {
  const commands: LeadCommand[] = []
  const failed: Array<{ id: number; error: string }> = []
  for (const row of rows) {
    try {
      const { fields } = leadFields(row, conf, originatorId)
      commands.push({ key: `lead_${row.id}`, command: `crm.lead.add?${stringify({ fields, params: { REGISTER_SONET_EVENT: 'Y' } })}`, row })
    } catch (err) {
      failed.push({ id: row.id, error: `MAPPING_ERROR: ${err instanceof Error ? err.message : String(err)}` })
    }
  }
  return { commands, failed }
}
