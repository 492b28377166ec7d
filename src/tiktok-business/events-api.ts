import { createHash } from 'node:crypto'
import type { TikTokApiOptions } from './api-client.js'
import { createTransport } from './api-transport.js'
import { idOf, records, textOf } from './api-values.js'
import { createTikTokLimiter, type TikTokLimiter } from './limiter.js'

/**
 * Lead quality back to TikTok: the advertiser's CRM event sets (`crm/list`) and CRM events
 * (`event/track` with `event_source: crm`), on the same transport as the rest of the API for
 * Business (envelope checked, tokens scrubbed, 40100 retried with backoff).
 *
 * `event/track` has its own quota, far above the developer app's 10/s: it does not go through the
 * app-wide limiter (that would starve lead downloads and health checks), but through a limiter of
 * its own, so an outbox catching up after an outage does not hammer TikTok either; a throttled
 * answer is retried with backoff by the transport, then left to the outbox's own backoff.
 * @see https://business-api.tiktok.com/portal/docs (Events API 2.0; reference/tiktok.md §8)
 */

/** TikTok takes up to 1,000 events a request; more refuses the whole request. */
export const MAX_EVENTS_PER_REQUEST = 1000
/** What TikTok's lead object names as the CRM the events come from. */
export const LEAD_EVENT_SOURCE = 'Bitrix24'

export interface CrmEventSet {
  eventSetId: string
  name: string
}

/** One CRM event, its e-mail and phone already hashed (hashEmail, hashPhone). */
export interface CrmEvent {
  event: string
  /** unix seconds */
  eventTime: number
  eventId: string
  leadId: string
  email: string[]
  phone: string[]
}

export interface EventsApi {
  listCrmEventSets(accessToken: string, advertiserId: string): Promise<CrmEventSet[]>
  /** All or nothing: TikTok refuses the whole request when one event is wrong. */
  track(accessToken: string, eventSetId: string, events: CrmEvent[]): Promise<void>
}

export interface EventsApiOptions extends TikTokApiOptions {
  /** the limiter event/track passes (its own quota); default 20/s, 1,200/min */
  trackLimiter?: TikTokLimiter
}

export function createEventsApi(opts: EventsApiOptions): EventsApi {
  const app = createTransport(opts)
  const own = createTransport({
    ...opts,
    limiter: opts.trackLimiter ?? createTikTokLimiter({ perSecond: 20, perMinute: 1200 }),
  })

  return {
    async listCrmEventSets(accessToken, advertiserId) {
      const data = await app.call('crm/list', {
        method: 'GET',
        token: accessToken,
        query: { advertiser_id: advertiserId },
      })
      return records(data['crm_event_sets']).flatMap((s) => {
        const eventSetId = idOf(s['event_set_id'])
        return eventSetId ? [{ eventSetId, name: textOf(s['name']) ?? eventSetId }] : []
      })
    },

    async track(accessToken, eventSetId, events) {
      if (events.length === 0) return
      if (events.length > MAX_EVENTS_PER_REQUEST)
        throw new RangeError(`at most ${MAX_EVENTS_PER_REQUEST} events a request, got ${events.length}`)
      await own.call('event/track', {
        method: 'POST',
        token: accessToken,
        body: {
          event_source: 'crm',
          event_source_id: eventSetId,
          data: events.map((e) => ({
            event: e.event,
            event_time: e.eventTime,
            event_id: e.eventId,
            lead: { lead_id: e.leadId, lead_event_source: LEAD_EVENT_SOURCE },
            ...(e.email.length || e.phone.length
              ? {
                  user: {
                    ...(e.email.length ? { email: e.email } : {}),
                    ...(e.phone.length ? { phone: e.phone } : {}),
                  },
                }
              : {}),
          })),
        },
      })
    },
  }
}

const sha256 = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex')

/** TikTok's e-mail normalisation before hashing: trimmed, lower case. Empty: nothing to send. */
export function hashEmail(raw: string): string | null {
  const value = raw.trim().toLowerCase()
  return value.includes('@') ? sha256(value) : null
}

/** A phone already in E.164 (`+84912345678`); anything else is not sent (TikTok would not match it). */
export function hashPhone(e164: string): string | null {
  return /^\+[1-9]\d{6,14}$/.test(e164) ? sha256(e164) : null
}
