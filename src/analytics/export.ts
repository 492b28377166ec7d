import type { AnalyticsGroupRow, AnalyticsLevel } from '../db/repositories/analytics.js'
import { type CsvValue, csvChunks } from './csv.js'
import { rowView } from './view.js'

/** The CSV's columns: the JSON row's numbers, the time to first contact in seconds. */
export const CSV_HEADER = [
  'level',
  'id',
  'name',
  'advertiser_id',
  'leads',
  'delivered',
  'contacted',
  'qualified',
  'converted',
  'lost',
  'median_first_contact_s',
  'spend',
  'impressions',
  'clicks',
  'cost_per_lead',
  'cost_per_qualified_lead',
]

function csvValues(level: AnalyticsLevel, r: AnalyticsGroupRow): CsvValue[] {
  const v = rowView(r)
  return [
    level,
    v.id,
    v.name,
    v.advertiserId,
    v.leads,
    v.delivered,
    v.contacted,
    v.qualified,
    v.converted,
    v.lost,
    v.medianFirstContactMs === null ? null : Math.round(v.medianFirstContactMs / 1000),
    v.spend,
    v.impressions,
    v.clicks,
    v.costPerLead,
    v.costPerQualifiedLead,
  ]
}

/** The analytics rows as the CSV download's text, chunk by chunk (runner.ts sends it; the bench measures it). */
export function analyticsCsvChunks(
  level: AnalyticsLevel,
  rows: Iterator<AnalyticsGroupRow>,
  chunkChars?: number,
): Generator<string> {
  return csvChunks(CSV_HEADER, rows, (r) => csvValues(level, r), chunkChars)
}
