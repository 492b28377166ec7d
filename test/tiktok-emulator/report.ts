/**
 * `GET /report/integrated/get/`, synchronous BASIC reports: just enough for the official SDK's
 * ReportingApi.reportIntegratedGet. Array parameters come as JSON text in the query
 * (`dimensions=["stat_time_day"]`), as both SDKs send them.
 * @see node_modules/tiktok-business-api-sdk-official/src/api/ReportingApi.js (buildCollectionParam 'multi'
 *   → JSON.stringify); bububa model/report/integrated_get.go (data.list[{dimensions, metrics}], page_info)
 * Metric values are strings, as TikTok sends them. [INFERRED] the numbers: a stable hash per row.
 */
import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { api, checkAdvertiser, checkToken, intParam, pageInfo, required, type Ctx } from './api.js'
import { ApiError, CODE } from './envelope.js'

const DATA_LEVELS: Record<string, 'advertiser_id' | 'campaign_id' | 'adgroup_id' | 'ad_id'> = {
  AUCTION_ADVERTISER: 'advertiser_id',
  AUCTION_CAMPAIGN: 'campaign_id',
  AUCTION_ADGROUP: 'adgroup_id',
  AUCTION_AD: 'ad_id',
}

function jsonList(raw: string | undefined, name: string): string[] | undefined {
  if (raw === undefined) return undefined
  try {
    const value: unknown = JSON.parse(raw)
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value
  } catch {
    // fall through
  }
  throw new ApiError(CODE.PARAM, `${name}: expected a JSON array of strings.`)
}

function days(start: string, end: string): string[] {
  const re = /^\d{4}-\d{2}-\d{2}$/
  if (!re.test(start) || !re.test(end)) throw new ApiError(CODE.PARAM, 'start_date/end_date: expected YYYY-MM-DD.')
  const out: string[] = []
  for (let at = Date.parse(`${start}T00:00:00Z`); at <= Date.parse(`${end}T00:00:00Z`); at += 86_400_000) {
    out.push(new Date(at).toISOString().slice(0, 10))
    if (out.length > 366) throw new ApiError(CODE.PARAM, 'The time range is too long.')
  }
  if (out.length === 0) throw new ApiError(CODE.PARAM, 'end_date must not be before start_date.')
  return out
}

function metric(name: string, seed: string): string {
  const n = createHash('sha256').update(`${seed}|${name}`).digest().readUInt32BE(0)
  if (['spend', 'cpc', 'cpm', 'cost_per_conversion'].includes(name)) return ((n % 100_000) / 100).toFixed(2)
  if (['ctr', 'conversion_rate'].includes(name)) return ((n % 1000) / 100).toFixed(2)
  return String(n % 10_000)
}

export function registerReport(app: FastifyInstance, ctx: Ctx): void {
  api(app, ctx, 'GET', 'report/integrated/get', (req) => {
    const q = req.query
    required(q, 'report_type', 'advertiser_id')
    const token = checkToken(ctx, req)
    checkAdvertiser(token, q['advertiser_id'] as string)
    if (q['report_type'] !== 'BASIC')
      throw new ApiError(CODE.PARAM, `report_type ${q['report_type']} is not supported by this emulator.`)
    const level = DATA_LEVELS[q['data_level'] ?? 'AUCTION_ADVERTISER']
    if (!level) throw new ApiError(CODE.PARAM, `data_level: invalid value ${q['data_level']}.`)
    const dimensions = jsonList(q['dimensions'], 'dimensions')
    if (!dimensions || dimensions.length === 0) throw new ApiError(CODE.PARAM, 'Missing required field(s): dimensions.')
    const metrics = jsonList(q['metrics'], 'metrics') ?? ['spend', 'impressions']
    const lifetime = q['query_lifetime'] === 'true'
    if (!lifetime) required(q, 'start_date', 'end_date')
    const dates = lifetime ? [null] : days(q['start_date'] as string, q['end_date'] as string)
    const advertiserId = q['advertiser_id'] as string
    const forms = [...ctx.state.forms.values()].filter((f) => f.advertiserId === advertiserId)
    const entities = level === 'advertiser_id' ? [advertiserId] : forms.map((f) => f.ad[level])
    const rows = dates.flatMap((day) =>
      entities.map((entity) => {
        const dims: Record<string, string> = {}
        for (const d of dimensions) {
          if (d === 'stat_time_day') dims[d] = day === null ? '' : `${day} 00:00:00`
          else if (d === level) dims[d] = entity
          else dims[d] = ''
        }
        const seed = `${entity}|${day ?? 'lifetime'}`
        return { dimensions: dims, metrics: Object.fromEntries(metrics.map((m) => [m, metric(m, seed)])) }
      }),
    )
    const page = intParam(q, 'page', 1, 1, Number.MAX_SAFE_INTEGER)
    const pageSize = intParam(q, 'page_size', 10, 1, 1000)
    return {
      list: rows.slice((page - 1) * pageSize, page * pageSize),
      page_info: pageInfo(page, pageSize, rows.length),
    }
  })
}
