/**
 * `GET /advertiser/info/`: the ad accounts' details, of which the app reads the time zone (the
 * zone of the report days).
 *
 * Rules:
 * - `advertiser_ids` required, a JSON array of ids (as bububa's InfoRequest.Encode sends it), each
 *   granted to the token; [INFERRED] at most 100.
 * - `fields` optional, a JSON array; without it every field but company_name_editable. Fields
 *   TikTok has and the emulator holds: advertiser_id, name, timezone, display_timezone, currency,
 *   status, role, create_time (Unix seconds); the other documented ones are refused as not
 *   emulated, so a caller notices; an undocumented one is a parameter error.
 * - `timezone` is "the offset from GMT or the zone's name in the tz database" (Etc/GMT, Europe/
 *   London), `display_timezone` "the zone's name in the tz database" (Europe/London).
 * @see bububa model/advertiser/info.go (request: advertiser_ids, fields), model/advertiser/advertiser.go (answer)
 */
import type { FastifyInstance } from 'fastify'
import { api, checkAdvertiser, checkToken, required, type Ctx } from './api.js'
import { ApiError, CODE } from './envelope.js'
import type { Advertiser } from './state.js'

const HELD: Record<string, (a: Advertiser) => unknown> = {
  advertiser_id: (a) => a.id,
  name: (a) => a.name,
  timezone: (a) => a.timezone,
  display_timezone: (a) => a.displayTimezone,
  currency: (a) => a.currency,
  status: () => 'STATUS_ENABLE',
  role: () => 'ROLE_ADVERTISER',
  create_time: (a) => Math.floor(a.createdAt / 1000),
}
/** Documented in bububa's InfoRequest.Fields but not held here. */
const NOT_HELD = new Set([
  'telephone_number',
  'contacter',
  'cellphone_number',
  'company',
  'description',
  'rejection_reason',
  'address',
  'language',
  'industry',
  'license_no',
  'email',
  'license_url',
  'country',
  'balance',
  'owner_bc_id',
  'company_name_editable',
])
const MAX_IDS = 100

function jsonIds(raw: string, name: string): string[] {
  try {
    const value: unknown = JSON.parse(raw)
    if (Array.isArray(value) && value.every((v) => typeof v === 'string' && v !== '')) return value
  } catch {
    // fall through
  }
  throw new ApiError(CODE.PARAM, `${name}: expected a JSON array of strings.`)
}

export function registerAdvertiser(app: FastifyInstance, ctx: Ctx): void {
  api(app, ctx, 'GET', 'advertiser/info', (req) => {
    const q = req.query
    required(q, 'advertiser_ids')
    const token = checkToken(ctx, req)
    const ids = jsonIds(q['advertiser_ids'] as string, 'advertiser_ids')
    if (ids.length === 0 || ids.length > MAX_IDS)
      throw new ApiError(CODE.PARAM, `advertiser_ids: from 1 to ${MAX_IDS} ids.`)
    for (const id of ids) checkAdvertiser(token, id)
    const fields = q['fields'] ? jsonIds(q['fields'], 'fields') : Object.keys(HELD)
    for (const f of fields) {
      if (NOT_HELD.has(f)) throw new ApiError(CODE.PARAM, `fields: ${f} is not supported by this emulator.`)
      if (!HELD[f]) throw new ApiError(CODE.PARAM, `fields: invalid value ${f}.`)
    }
    const list = ids.flatMap((id) => {
      const a = ctx.state.advertisers.get(id)
      return a ? [Object.fromEntries(fields.map((f) => [f, HELD[f]!(a)]))] : []
    })
    return { list }
  })
}
