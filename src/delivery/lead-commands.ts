import { batchCommand } from '../bitrix24/query.js'
import type { Lead, PortalSettings } from '../db/schema.js'
import { escapeHtml } from '../mapping/lead-text.js'
import type { MapLeadOptions } from '../mapping/map-lead.js'
import { mapStoredLead, mappingOf, nameOptions } from '../mapping/stored-lead.js'
import type { DedupDecision } from './dedup.js'

export interface PreparedLead {
  row: Lead
  fields: Record<string, unknown>
}

export interface LeadCommand {
  key: string
  command: string
  row: Lead
  /** for updates: the existing Bitrix24 lead the command writes to */
  updates?: { leadId: number; duplicateOf: string }
}

/**
 * Map every row with the portal's current mapping (applied at send time, so edits reach queued
 * leads); a lead whose stored data cannot be mapped fails alone.
 */
export function prepareLeads(
  rows: Lead[],
  conf: PortalSettings,
  originatorId: string,
  lang?: string,
): { prepared: PreparedLead[]; failed: Array<{ id: number; error: string }> } {
  const opts: MapLeadOptions = {
    ...nameOptions(conf, lang),
    mapping: mappingOf(conf),
    defaultCountry: conf.default_country,
    originatorId,
  }
  const prepared: PreparedLead[] = []
  const failed: Array<{ id: number; error: string }> = []
  for (const row of rows) {
    try {
      prepared.push({ row, fields: mapStoredLead(row, opts).fields })
    } catch (err) {
      failed.push({ id: row.id, error: `MAPPING_ERROR: ${err instanceof Error ? err.message : String(err)}` })
    }
  }
  return { prepared, failed }
}

const MULTIFIELDS = ['PHONE', 'EMAIL', 'WEB', 'IM']

/**
 * One `batch` command (PHP-style nested keys) keyed `lead_<row id>`, or null when the lead is skipped.
 * @see https://apidocs.bitrix24.com/api-reference/crm/leads/crm-lead-add.html
 * @see https://apidocs.bitrix24.com/api-reference/crm/leads/crm-lead-update.html
 */
export function leadCommand(p: PreparedLead, decision: DedupDecision = { action: 'add' }): LeadCommand | null {
  const key = `lead_${p.row.id}`
  const params = { REGISTER_SONET_EVENT: 'Y' }
  switch (decision.action) {
    case 'skip':
      return null
    case 'update': {
      // The match came from these phones/e-mails: writing them again would add copies to the lead.
      const fields = Object.fromEntries(
        Object.entries(p.fields).filter(([k]) => !MULTIFIELDS.includes(k) && k !== 'TITLE'),
      )
      return {
        key,
        row: p.row,
        command: batchCommand('crm.lead.update', { id: decision.existingLeadId, fields, params }),
        updates: { leadId: decision.existingLeadId, duplicateOf: decision.duplicateOf },
      }
    }
    case 'add': {
      const fields = decision.note
        ? {
            ...p.fields,
            COMMENTS: `Possible duplicate of ${escapeHtml(decision.note)}\n${String(p.fields.COMMENTS ?? '')}`,
          }
        : p.fields
      return { key, row: p.row, command: batchCommand('crm.lead.add', { fields, params }) }
    }
  }
}
