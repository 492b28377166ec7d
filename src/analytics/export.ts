import type { Readable } from 'node:stream'
import type { AnalyticsGroupRow, AnalyticsLevel } from '../db/repositories/analytics.js'
import { csvStream } from './csv.js'
import { rowView } from './service.js'

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

/** The analytics rows as the CSV download (the route sends it; the bench measures it). */
export function analyticsCsv(level: AnalyticsLevel, rows: Iterator<AnalyticsGroupRow>): Readable {
  return csvStream(CSV_HEADER, rows, (r) => {
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
  })
}
