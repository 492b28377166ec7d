/**
 * `GET /report/integrated/get/`, synchronous BASIC reports over the daily numbers tests seed per
 * ad (`setAdStats`), added up by the requested level and dimensions. Array parameters come as
 * JSON text in the query (`dimensions=["stat_time_day"]`), as both SDKs send them.
 *
 * Rules:
 * - `report_type` BASIC, `service_type` AUCTION (default), `data_level` required:
 *   AUCTION_ADVERTISER / _CAMPAIGN / _ADGROUP / _AD.
 * - `dimensions` required: at most one ID dimension, the level's own ([INFERRED] a mismatch is
 *   refused), and/or `stat_time_day` ("YYYY-MM-DD 00:00:00").
 * - `metrics` default ["spend", "impressions"]; values are strings, as TikTok sends them. Rates
 *   (ctr, cpc, cpm, cost_per_conversion, conversion_rate) are computed from the sums; attribute
 *   metrics (campaign_name …) need an ID dimension and a level that has them.
 * - `start_date`/`end_date` (YYYY-MM-DD, inclusive) unless `query_lifetime=true`; at most 30
 *   days with `stat_time_day`, 365 without; lifetime cannot be split by day.
 * - Only ID dimensions: every entity of the level, zeros where no numbers. With `stat_time_day`:
 *   only the days that have numbers ("returns an empty list" when there is no data).
 * - `page` (default 1), `page_size` 1-1000 (default 10), `page_info`.
 * - [INFERRED] rows sorted by day, then id.
 * - Days (`start_date`, `end_date`, `stat_time_day`) are days of the ad account's zone
 *   (advertiser/info `display_timezone`): numbers spent at an instant (`addAdSpend`) count on the
 *   day that instant falls on there.
 * - Not emulated, refused so a caller notices: filtering, ordering, advertiser_ids, other reports.
 * @see bububa model/report/integrated_get.go (parameters, limits, defaults, answer),
 *   model/report/{dimensions,metrics}.go (names, attribute metrics by level);
 *   node_modules/tiktok-business-api-sdk-official/src/api/ReportingApi.js (arrays as JSON text)
 */
import type { FastifyInstance } from 'fastify'
import { api, checkAdvertiser, checkToken, intParam, pageInfo, required, type Ctx } from './api.js'
import { ApiError, CODE } from './envelope.js'
import { type AdPlace, type DayStats, isDate } from './state.js'
import type { ReportHold } from './types.js'

type Level = 'advertiser_id' | 'campaign_id' | 'adgroup_id' | 'ad_id'

const DATA_LEVELS: Record<string, Level> = {
  AUCTION_ADVERTISER: 'advertiser_id',
  AUCTION_CAMPAIGN: 'campaign_id',
  AUCTION_ADGROUP: 'adgroup_id',
  AUCTION_AD: 'ad_id',
}
const ID_DIMENSIONS = new Set<string>(['advertiser_id', 'campaign_id', 'adgroup_id', 'ad_id'])
const SUM_METRICS = ['spend', 'impressions', 'clicks', 'conversion'] as const
const RATE_METRICS = ['ctr', 'cpc', 'cpm', 'cost_per_conversion', 'conversion_rate'] as const
/** Attribute metrics and the levels that have them (model/report/metrics.go comments). */
const ATTRIBUTES: Record<string, Level[]> = {
  advertiser_name: ['advertiser_id', 'campaign_id', 'adgroup_id', 'ad_id'],
  campaign_name: ['campaign_id', 'adgroup_id', 'ad_id'],
  campaign_id: ['adgroup_id', 'ad_id'],
  adgroup_name: ['adgroup_id', 'ad_id'],
  adgroup_id: ['ad_id'],
  ad_name: ['ad_id'],
}
const DAY_MS = 86_400_000

function jsonList(raw: string | undefined, name: string): string[] | undefined {
  if (raw === undefined || raw === '') return undefined
  try {
    const value: unknown = JSON.parse(raw)
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value
  } catch {
    // fall through
  }
  throw new ApiError(CODE.PARAM, `${name}: expected a JSON array of strings.`)
}

function unsupported(what: string): ApiError {
  return new ApiError(CODE.PARAM, `${what} is not supported by this emulator.`)
}

/** Every day from start to end, inclusive, within `maxDays`. */
function days(start: string, end: string, maxDays: number): string[] {
  if (!isDate(start) || !isDate(end)) throw new ApiError(CODE.PARAM, 'start_date/end_date: expected YYYY-MM-DD.')
  const from = Date.parse(`${start}T00:00:00Z`)
  const to = Date.parse(`${end}T00:00:00Z`)
  if (to < from) throw new ApiError(CODE.PARAM, 'end_date must not be before start_date.')
  const count = (to - from) / DAY_MS + 1
  if (count > maxDays) throw new ApiError(CODE.PARAM, `The time range must not exceed ${maxDays} days.`)
  return Array.from({ length: count }, (_, i) => new Date(from + i * DAY_MS).toISOString().slice(0, 10))
}

function entityOf(place: AdPlace, level: Level): string {
  if (level === 'advertiser_id') return place.advertiserId
  if (level === 'campaign_id') return place.campaignId
  if (level === 'adgroup_id') return place.adgroupId
  return place.adId
}

function ratio(a: number, b: number, scale = 1): string {
  return b === 0 ? '0.00' : ((a / b) * scale).toFixed(2)
}

function metricValue(name: string, sum: DayStats, place: AdPlace | undefined, advertiserName: string): string {
  switch (name) {
    case 'spend':
      return sum.spend.toFixed(2)
    case 'impressions':
    case 'clicks':
    case 'conversion':
      return String(sum[name])
    case 'ctr':
      return ratio(sum.clicks, sum.impressions, 100)
    case 'cpc':
      return ratio(sum.spend, sum.clicks)
    case 'cpm':
      return ratio(sum.spend, sum.impressions, 1000)
    case 'cost_per_conversion':
      return ratio(sum.spend, sum.conversion)
    case 'conversion_rate':
      return ratio(sum.conversion, sum.clicks, 100)
    case 'advertiser_name':
      return advertiserName
    case 'campaign_name':
      return place?.campaignName ?? ''
    case 'campaign_id':
      return place?.campaignId ?? ''
    case 'adgroup_name':
      return place?.adgroupName ?? ''
    case 'adgroup_id':
      return place?.adgroupId ?? ''
    default:
      return place?.adName ?? ''
  }
}

interface Group {
  entity: string
  day: string | null
  place: AdPlace | undefined
  sum: DayStats
}

/** Reports held back on purpose (holdReports): the answers wait until released. */
const holds = new WeakMap<Ctx, { gate: Promise<void>; waiting: number }>()

/**
 * Holds every report request after it has passed the faults and the quota, until `release`: for
 * tests of what a client does while a report is in flight (whether a second caller asks again).
 */
export function holdReports(ctx: Ctx): ReportHold {
  let release = () => {}
  const hold = { gate: new Promise<void>((r) => (release = r)), waiting: 0 }
  holds.set(ctx, hold)
  return {
    get waiting() {
      return hold.waiting
    },
    release() {
      if (holds.get(ctx) === hold) holds.delete(ctx)
      release()
    },
  }
}

export function registerReport(app: FastifyInstance, ctx: Ctx): void {
  api(app, ctx, 'GET', 'report/integrated/get', async (req) => {
    const hold = holds.get(ctx)
    if (hold) {
      hold.waiting++
      await hold.gate
      hold.waiting--
    }
    const q = req.query
    required(q, 'report_type', 'advertiser_id')
    const token = checkToken(ctx, req)
    const advertiserId = q['advertiser_id'] as string
    checkAdvertiser(token, advertiserId)
    if (q['report_type'] !== 'BASIC') throw unsupported(`report_type ${q['report_type']}`)
    if (q['service_type'] !== undefined && q['service_type'] !== 'AUCTION')
      throw unsupported(`service_type ${q['service_type']}`)
    for (const name of ['advertiser_ids', 'filtering', 'order_field', 'enable_total_metrics', 'query_mode'])
      if (q[name] !== undefined && q[name] !== '') throw unsupported(name)
    required(q, 'data_level')
    const level = DATA_LEVELS[q['data_level'] as string]
    if (!level) throw new ApiError(CODE.PARAM, `data_level: invalid value ${q['data_level']}.`)

    const dimensions = jsonList(q['dimensions'], 'dimensions')
    if (!dimensions || dimensions.length === 0) throw new ApiError(CODE.PARAM, 'Missing required field(s): dimensions.')
    for (const d of dimensions) {
      if (d !== 'stat_time_day' && !ID_DIMENSIONS.has(d)) throw unsupported(`dimension ${d}`)
      if (ID_DIMENSIONS.has(d) && d !== level)
        throw new ApiError(CODE.PARAM, `dimensions: ${d} cannot be used with data_level ${q['data_level']}.`)
    }
    const byId = dimensions.includes(level)
    const byDay = dimensions.includes('stat_time_day')

    const metrics = jsonList(q['metrics'], 'metrics') ?? ['spend', 'impressions']
    for (const m of metrics) {
      const levels = ATTRIBUTES[m]
      if (levels) {
        if (!byId || !levels.includes(level))
          throw new ApiError(CODE.PARAM, `metrics: ${m} needs an ID dimension of a level that has it.`)
      } else if (!(SUM_METRICS as readonly string[]).includes(m) && !(RATE_METRICS as readonly string[]).includes(m)) {
        throw unsupported(`metric ${m}`)
      }
    }

    const lifetime = q['query_lifetime'] === 'true'
    if (lifetime && byDay) throw new ApiError(CODE.PARAM, 'Lifetime metrics cannot be split by stat_time_day.')
    if (!lifetime) required(q, 'start_date', 'end_date')
    const range = lifetime ? null : new Set(days(q['start_date'] as string, q['end_date'] as string, byDay ? 30 : 365))
    const page = intParam(q, 'page', 1, 1, Number.MAX_SAFE_INTEGER)
    const pageSize = intParam(q, 'page_size', 10, 1, 1000)

    const groups = new Map<string, Group>()
    const group = (entity: string, day: string | null, place: AdPlace | undefined): Group => {
      const key = JSON.stringify([byId ? entity : '', day])
      let found = groups.get(key)
      if (!found) {
        found = { entity, day, place, sum: { spend: 0, impressions: 0, clicks: 0, conversion: 0 } }
        groups.set(key, found)
      }
      return found
    }
    const ads = [...ctx.state.ads.values()].filter((a) => a.advertiserId === advertiserId)
    // Only IDs asked for: every entity of the level shows, with zeros where nothing was spent.
    if (byId && !byDay) {
      if (level === 'advertiser_id') group(advertiserId, null, ads[0])
      for (const ad of ads) group(entityOf(ad, level), null, ad)
    }
    for (const ad of ads) {
      for (const [day, stats] of ctx.state.adStats.get(ad.adId) ?? []) {
        if (range && !range.has(day)) continue
        const g = group(entityOf(ad, level), byDay ? day : null, ad)
        for (const m of SUM_METRICS) g.sum[m] += stats[m]
      }
    }

    const advertiserName = ctx.state.advertisers.get(advertiserId)?.name ?? ''
    const rows = [...groups.values()]
      .sort((a, b) => (a.day ?? '').localeCompare(b.day ?? '') || a.entity.localeCompare(b.entity))
      .map((g) => {
        const dims: Record<string, string> = {}
        for (const d of dimensions) dims[d] = d === 'stat_time_day' ? `${g.day} 00:00:00` : g.entity
        return {
          dimensions: dims,
          metrics: Object.fromEntries(metrics.map((m) => [m, metricValue(m, g.sum, g.place, advertiserName)])),
        }
      })
    return {
      list: rows.slice((page - 1) * pageSize, page * pageSize),
      page_info: pageInfo(page, pageSize, rows.length),
    }
  })
}
