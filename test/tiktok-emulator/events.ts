/**
 * Lead quality back to TikTok: `GET /crm/list/` (the advertiser's CRM event sets) and
 * `POST /event/track/` with `event_source: crm` (Events API 2.0).
 *
 * `/event/track/` rules, in the order they are checked (a refusal refuses the whole request and
 * records nothing):
 * - `event_source`, `event_source_id`, `data` required; `event_source` one of web, app, offline, crm.
 * - The event set must exist and be a CRM set; any other source naming it, or an unknown id, is
 *   "Invalid value for event_source_id" (40002), the answer a wrong event_source_id got live
 *   (stape-io/tiktok-tag issue #33). The set's advertiser must be granted to the token (40001).
 *   [INFERRED] that only `crm` sets exist here: web, app and offline sources are never found.
 * - `data`: 1 to 1,000 events ("more than 1,000 … the whole request is rejected").
 * - Each event: `event`, `event_time` (unix seconds), `event_id` and `lead.lead_id` required
 *   for CRM events, the ids as strings; a refusal names the field as `data[i].field`.
 *   [INFERRED] an `event_time` more than a day ahead is refused: it is milliseconds sent as seconds.
 * - `user.email` / `user.phone`: SHA-256 hex (one string or a list). [INFERRED] that TikTok
 *   refuses plain values; the emulator does, so no address leaves the app unhashed.
 * - Deduplication on event_source_id + event_id + event: a repeat is accepted (code 0) and kept
 *   apart as a duplicate, never counted twice. [INFERRED] for ever: TikTok publishes no window
 *   for CRM events, and an outbox must not lean on one.
 * - Accepted but not matched: an event more than 28 days old (`too_old`), and a lead id no form
 *   of the advertiser has (`unknown_lead`, [INFERRED]).
 * - Its own quota (`eventQuota`), not the app-wide one.
 * @see bububa model/event/track.go (request fields, 1,000 per request, dedup triple, lead.lead_id
 *   required for CRM), model/event/crm_list.go (filters, answer), reference/tiktok.md §8 (28 days,
 *   own quota)
 */
import type { FastifyInstance } from 'fastify'
import { api, checkAdvertiser, checkToken, required, str, type Ctx } from './api.js'
import { ApiError, CODE } from './envelope.js'
import { MAX_EVENT_SETS } from './state.js'
import type { TrackedEvent } from './types.js'

export const MAX_EVENTS_PER_REQUEST = 1000
export const MATCH_WINDOW_S = 28 * 86_400
const FUTURE_SLACK_S = 86_400
const SOURCES = new Set(['web', 'app', 'offline', 'crm'])
const SHA256 = /^[0-9a-f]{64}$/

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function invalid(name: string, why = 'not a valid string'): ApiError {
  return new ApiError(CODE.PARAM, `Invalid value for ${name}: ${why}.`)
}

/** Filters of `/crm/list/` arrive as JSON text in the query, like every array parameter. */
function idList(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw === '') return undefined
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    throw invalid('event_set_ids', 'expected a JSON array of strings')
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw invalid('event_set_ids', 'expected a JSON array of strings')
  if (value.length > MAX_EVENT_SETS) throw invalid('event_set_ids', `at most ${MAX_EVENT_SETS} ids`)
  return value
}

function hashes(user: Record<string, unknown>, name: 'email' | 'phone', at: string): string[] {
  const raw = user[name]
  if (raw === undefined || raw === null) return []
  const list = typeof raw === 'string' ? [raw] : raw
  if (!Array.isArray(list) || !list.every((v) => typeof v === 'string' && SHA256.test(v)))
    throw invalid(`${at}.user.${name}`, 'expected SHA-256 hashes (64 lowercase hex digits)')
  return [...list]
}

interface Checked {
  event: string
  eventTime: number
  eventId: string
  leadId: string
  leadEventSource: string | null
  email: string[]
  phone: string[]
}

function checkEvent(raw: unknown, i: number, nowS: number): Checked {
  const at = `data[${i}]`
  if (!isObject(raw)) throw invalid(at, 'expected an object')
  const lead = isObject(raw['lead']) ? raw['lead'] : {}
  const missing = [
    ...['event', 'event_time', 'event_id'].filter((n) => raw[n] === undefined || raw[n] === null || raw[n] === ''),
    ...(lead['lead_id'] === undefined || lead['lead_id'] === null || lead['lead_id'] === '' ? ['lead.lead_id'] : []),
  ]
  if (missing.length > 0)
    throw new ApiError(CODE.PARAM, `Missing required field(s): ${missing.map((n) => `${at}.${n}`).join(', ')}.`)
  // Strings only: a 19-digit lead id sent as a JSON number has already lost digits. The wording
  // is the one a number-like event_id got live (stape-io/tiktok-tag issue #10).
  for (const [name, value] of [
    ['event', raw['event']],
    ['event_id', raw['event_id']],
    ['lead.lead_id', lead['lead_id']],
  ] as const)
    if (typeof value !== 'string') throw invalid(`${at}.${name}`)
  const eventTime = raw['event_time']
  if (typeof eventTime !== 'number' || !Number.isInteger(eventTime) || eventTime <= 0)
    throw invalid(`${at}.event_time`, 'expected unix seconds')
  if (eventTime > nowS + FUTURE_SLACK_S) throw invalid(`${at}.event_time`, 'in the future (milliseconds?)')
  const user = isObject(raw['user']) ? raw['user'] : {}
  return {
    event: raw['event'] as string,
    eventTime,
    eventId: raw['event_id'] as string,
    leadId: lead['lead_id'] as string,
    leadEventSource: typeof lead['lead_event_source'] === 'string' ? lead['lead_event_source'] : null,
    email: hashes(user, 'email', at),
    phone: hashes(user, 'phone', at),
  }
}

export function registerEvents(app: FastifyInstance, ctx: Ctx): void {
  api(app, ctx, 'GET', 'crm/list', (req) => {
    const q = req.query
    required(q, 'advertiser_id')
    const token = checkToken(ctx, req)
    const advertiserId = q['advertiser_id'] as string
    checkAdvertiser(token, advertiserId)
    const ids = idList(q['event_set_ids'])
    const name = q['name']
    const sets = [...ctx.state.eventSets.values()].filter(
      (s) =>
        s.advertiserId === advertiserId &&
        (name === undefined || name === '' || s.name === name) &&
        (ids === undefined || ids.includes(s.id)),
    )
    return {
      crm_event_sets: sets.map((s) => ({
        event_set_id: s.id,
        name: s.name,
        // ISO 8601, "2023-04-15T00:23:38Z" (bububa model/event/crm_list.go).
        create_time: new Date(s.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      })),
    }
  })

  api(
    app,
    ctx,
    'POST',
    'event/track',
    (req) => {
      const b = req.body
      required(b, 'event_source', 'event_source_id', 'data')
      const token = checkToken(ctx, req)
      const source = b['event_source']
      if (typeof source !== 'string' || !SOURCES.has(source))
        throw invalid('event_source', 'one of web, app, offline, crm')
      const setId = str(b, 'event_source_id') as string
      const set = ctx.state.eventSets.get(setId)
      if (!set || source !== 'crm') throw invalid('event_source_id')
      checkAdvertiser(token, set.advertiserId)
      const data = b['data']
      if (!Array.isArray(data) || data.length === 0) throw invalid('data', 'expected a non-empty list of events')
      if (data.length > MAX_EVENTS_PER_REQUEST)
        throw invalid('data', `at most ${MAX_EVENTS_PER_REQUEST} events per request, got ${data.length}`)
      const nowMs = ctx.now()
      const nowS = Math.floor(nowMs / 1000)
      const checked = data.map((raw, i) => checkEvent(raw, i, nowS))
      const leads = ctx.state.leadIds(set.advertiserId)
      const testEventCode = typeof b['test_event_code'] === 'string' ? b['test_event_code'] : null
      for (const e of checked) {
        const tooOld = nowS - e.eventTime > MATCH_WINDOW_S
        const known = leads.has(e.leadId)
        const tracked: TrackedEvent = {
          eventSetId: set.id,
          advertiserId: set.advertiserId,
          ...e,
          testEventCode,
          receivedAt: nowMs,
          matched: !tooOld && known,
          reason: tooOld ? 'too_old' : known ? null : 'unknown_lead',
        }
        const key = JSON.stringify([set.id, e.eventId, e.event])
        if (ctx.state.eventKeys.has(key)) {
          ctx.state.duplicateEvents.push(tracked)
        } else {
          ctx.state.eventKeys.add(key)
          ctx.state.trackedEvents.push(tracked)
        }
      }
      return {}
    },
    { quota: 'events' },
  )
}
