/**
 * Everything TikTok knows: advertisers, instant forms and their leads, auth codes, tokens,
 * subscriptions, CRM event sets and the events sent to them, ads and their daily numbers.
 * Plain data plus lookups; the HTTP layer decides the answers.
 */
import { randomBytes, randomInt } from 'node:crypto'
import type { AdDayStats, AdvertiserInput, FormField, LeadCampaign, PageStatus, TrackedEvent } from './types.js'

/**
 * TikTok ids are 19-digit decimal strings, above 2^53 ("some exceed the safe integer range",
 * api-evangelist/tiktok-ads conventions), so a JS number would lose digits: the point of
 * numericIds pushes. Each kind gets its own leading digits, like real ids (7…, 18… for ads).
 */
export class IdMaker {
  private next = BigInt(randomInt(1, 1_000_000)) * 1000n

  make(prefix: string, digits = 19): string {
    this.next += BigInt(randomInt(1, 1000))
    const tail = this.next.toString().padStart(digits - prefix.length, '0')
    return `${prefix}${tail}`.slice(0, digits)
  }
}

export function hexToken(bytes = 20): string {
  return randomBytes(bytes).toString('hex')
}

export interface Advertiser {
  id: string
  name: string
  /**
   * advertiser/info `timezone`: "the ad account's offset from GMT, or its zone's name in the tz
   * database" (Etc/GMT+8, Europe/London), and `display_timezone`: the zone's name. Reports split
   * by `stat_time_day` count the days of `displayTimezone`.
   * @see bububa model/advertiser/advertiser.go (Timezone, DisplayTimezone)
   */
  timezone: string
  displayTimezone: string
  /** ISO 4217, the currency of spend and balance */
  currency: string
  /** ms */
  createdAt: number
}

export interface Lead {
  id: string
  pageId: string
  advertiserId: string
  /** Unix seconds. */
  createTime: number
  answers: Record<string, string>
  campaign: Required<LeadCampaign>
}

export interface Form {
  pageId: string
  advertiserId: string
  title: string
  status: PageStatus
  fields: FormField[]
  /** ms */
  createdAt: number
  updatedAt: number
  /** The ad the form runs in, for leads that name none. [INFERRED] one ad per form by default. */
  ad: Required<LeadCampaign>
  /** Real leads, oldest first. */
  leads: Lead[]
  /** "Only one test lead can be created per lead form" (bububa model/page/lead/mock_create.go). */
  testLead: Lead | null
}

export interface AuthCode {
  code: string
  advertiserIds: string[]
  expiresAt: number
  used: boolean
}

export interface AccessToken {
  token: string
  advertiserIds: string[]
  scope: number[]
  revoked: boolean
}

export interface Subscription {
  id: string
  callbackUrl: string
  accessToken: string
  leadSource: 'INSTANT_FORM'
  advertiserId: string
  pageId: string | null
  deleted: boolean
}

/**
 * A CRM event set of Events Manager.
 * @see bububa model/event/crm_list.go (event_set_id, name, create_time; at most 50 per ad account)
 */
export interface CrmEventSet {
  id: string
  advertiserId: string
  name: string
  /** ms */
  createdAt: number
}

export const MAX_EVENT_SETS = 50

/** An ad and where it sits: what a report at campaign or ad group level adds up by. */
export interface AdPlace {
  advertiserId: string
  campaignId: string
  campaignName: string
  adgroupId: string
  adgroupName: string
  adId: string
  adName: string
}

export interface DayStats {
  spend: number
  impressions: number
  clicks: number
  conversion: number
}

export class TikTokState {
  readonly ids = new IdMaker()
  readonly advertisers = new Map<string, Advertiser>()
  readonly forms = new Map<string, Form>()
  readonly codes = new Map<string, AuthCode>()
  readonly tokens = new Map<string, AccessToken>()
  readonly subscriptions = new Map<string, Subscription>()
  readonly redirectUris = new Set<string>()
  readonly eventSets = new Map<string, CrmEventSet>()
  /** Unique events in arrival order, and the later copies that deduplication kept out. */
  readonly trackedEvents: TrackedEvent[] = []
  readonly duplicateEvents: TrackedEvent[] = []
  /** event_source_id + event_id + event of every unique event. */
  readonly eventKeys = new Set<string>()
  readonly ads = new Map<string, AdPlace>()
  /** ad id → day (YYYY-MM-DD) → numbers */
  readonly adStats = new Map<string, Map<string, DayStats>>()

  constructor(private readonly now: () => number) {}

  addCrmEventSet(advertiserId: string, input: { id?: string; name: string }): CrmEventSet {
    if (!this.advertisers.has(advertiserId)) throw new Error(`tiktok emulator: unknown advertiser ${advertiserId}`)
    const name = input.name.trim()
    // "Length: 1-40 characters" for the name filter of /crm/list/ (bububa model/event/crm_list.go).
    if (name.length === 0 || name.length > 40) throw new Error('tiktok emulator: an event set name has 1-40 characters')
    const own = [...this.eventSets.values()].filter((s) => s.advertiserId === advertiserId)
    if (own.length >= MAX_EVENT_SETS)
      throw new Error(`tiktok emulator: an ad account has at most ${MAX_EVENT_SETS} CRM event sets`)
    const id = input.id ?? this.ids.make('72')
    if (this.eventSets.has(id)) throw new Error(`tiktok emulator: event set ${id} exists`)
    const set = { id, advertiserId, name, createdAt: this.now() }
    this.eventSets.set(id, set)
    return set
  }

  /** Lead ids an event of this advertiser can match: its forms' leads and test leads. */
  leadIds(advertiserId: string): Set<string> {
    const ids = new Set<string>()
    for (const form of this.forms.values()) {
      if (form.advertiserId !== advertiserId) continue
      for (const lead of form.leads) ids.add(lead.id)
      if (form.testLead) ids.add(form.testLead.id)
    }
    return ids
  }

  /** Known from a form's default ad, a lead's campaign data, or stats given with their place. */
  registerAd(advertiserId: string, c: Required<LeadCampaign>): void {
    if (this.ads.has(c.ad_id)) return
    this.ads.set(c.ad_id, {
      advertiserId,
      campaignId: c.campaign_id,
      campaignName: c.campaign_name,
      adgroupId: c.adgroup_id,
      adgroupName: c.adgroup_name,
      adId: c.ad_id,
      adName: c.ad_name,
    })
  }

  /**
   * Numbers spent at an instant, added to the ad's day that the instant falls on in the ad
   * account's zone: what TikTok's day split reports.
   */
  addAdSpend(advertiserId: string, adId: string, atMs: number, stats: AdDayStats): void {
    const advertiser = this.advertisers.get(advertiserId)
    if (!advertiser) throw new Error(`tiktok emulator: unknown advertiser ${advertiserId}`)
    const day = dayIn(atMs, advertiser.displayTimezone)
    const had = this.adStats.get(adId)?.get(day)
    this.setAdStats(advertiserId, adId, day, {
      ...stats,
      spend: (had?.spend ?? 0) + stats.spend,
      impressions: (had?.impressions ?? 0) + stats.impressions,
      clicks: (had?.clicks ?? 0) + stats.clicks,
      conversion: (had?.conversion ?? 0) + (stats.conversion ?? 0),
    })
  }

  /** One ad's numbers on one day of the ad account's zone, replaced. */
  setAdStats(advertiserId: string, adId: string, date: string, stats: AdDayStats): void {
    if (!this.advertisers.has(advertiserId)) throw new Error(`tiktok emulator: unknown advertiser ${advertiserId}`)
    if (!isDate(date)) throw new Error(`tiktok emulator: expected a YYYY-MM-DD date, got ${date}`)
    const numbers = [stats.spend, stats.impressions, stats.clicks, stats.conversion ?? 0]
    if (numbers.some((n) => !Number.isFinite(n) || n < 0)) throw new Error('tiktok emulator: stats must be numbers ≥ 0')
    let place = this.ads.get(adId)
    if (!place) {
      if (stats.campaignId === undefined || stats.adgroupId === undefined)
        throw new Error(`tiktok emulator: ad ${adId} is unknown; give its campaignId and adgroupId`)
      this.registerAd(advertiserId, {
        campaign_id: stats.campaignId,
        campaign_name: stats.campaignName ?? '',
        adgroup_id: stats.adgroupId,
        adgroup_name: stats.adgroupName ?? '',
        ad_id: adId,
        ad_name: stats.adName ?? '',
      })
      place = this.ads.get(adId) as AdPlace
    }
    if (place.advertiserId !== advertiserId)
      throw new Error(`tiktok emulator: ad ${adId} belongs to advertiser ${place.advertiserId}`)
    let days = this.adStats.get(adId)
    if (!days) {
      days = new Map()
      this.adStats.set(adId, days)
    }
    days.set(date, {
      spend: stats.spend,
      impressions: stats.impressions,
      clicks: stats.clicks,
      conversion: stats.conversion ?? 0,
    })
  }

  addAdvertiser(input: AdvertiserInput): Advertiser {
    const id = input.id ?? this.ids.make('70')
    if (this.advertisers.has(id)) throw new Error(`tiktok emulator: advertiser ${id} exists`)
    // [INFERRED] an account whose zone nobody chose: Etc/GMT, TikTok's own example value.
    const displayTimezone = input.displayTimezone ?? input.timezone ?? 'Etc/GMT'
    const timezone = input.timezone ?? displayTimezone
    for (const zone of [timezone, displayTimezone]) dayIn(0, zone) // throws on a zone Intl does not know
    const advertiser = {
      id,
      name: input.name,
      timezone,
      displayTimezone,
      currency: input.currency ?? 'USD',
      createdAt: this.now(),
    }
    this.advertisers.set(id, advertiser)
    return advertiser
  }

  addForm(
    advertiserId: string,
    input: { id?: string; title: string; fields?: FormField[]; status?: PageStatus },
  ): Form {
    if (!this.advertisers.has(advertiserId)) throw new Error(`tiktok emulator: unknown advertiser ${advertiserId}`)
    const pageId = input.id ?? this.ids.make('74')
    if (this.forms.has(pageId)) throw new Error(`tiktok emulator: form ${pageId} exists`)
    const at = this.now()
    const form: Form = {
      pageId,
      advertiserId,
      title: input.title,
      status: input.status ?? 'PUBLISHED',
      // [INFERRED] TikTok's default Instant Form asks name, email and phone number.
      fields: checkFields(input.fields ?? [{ name: 'name' }, { name: 'email' }, { name: 'phone_number' }]),
      createdAt: at,
      updatedAt: at,
      ad: {
        campaign_id: this.ids.make('18', 16),
        campaign_name: `${input.title} campaign`,
        adgroup_id: this.ids.make('18', 16),
        adgroup_name: `${input.title} ad group`,
        ad_id: this.ids.make('18', 16),
        ad_name: `${input.title} ad`,
      },
      leads: [],
      testLead: null,
    }
    this.forms.set(pageId, form)
    this.registerAd(advertiserId, form.ad)
    return form
  }

  form(pageId: string): Form {
    const form = this.forms.get(pageId)
    if (!form) throw new Error(`tiktok emulator: unknown form ${pageId}`)
    return form
  }

  /** A token that exists and was not revoked. */
  liveToken(token: string | undefined): AccessToken | undefined {
    if (token === undefined) return undefined
    const found = this.tokens.get(token)
    return found && !found.revoked ? found : undefined
  }

  /**
   * A subscription delivers while it exists and its token lives.
   * @see bububa model/subscription/subscription.go SubscriptionDetail.AccessToken: "if the token is
   *   revoked (by the developer or the advertiser) the webhook subscription becomes invalid"
   */
  isValid(sub: Subscription): boolean {
    return !sub.deleted && this.liveToken(sub.accessToken) !== undefined
  }

  makeLead(form: Form, answers: Record<string, string>, createTime: number, campaign: LeadCampaign = {}): Lead {
    this.registerAd(form.advertiserId, { ...form.ad, ...campaign })
    return {
      id: this.ids.make('75'),
      pageId: form.pageId,
      advertiserId: form.advertiserId,
      createTime,
      answers: { ...answers },
      campaign: { ...form.ad, ...campaign },
    }
  }
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>()

/** The `YYYY-MM-DD` day of an instant in an IANA zone (throws on a zone Intl does not know). */
export function dayIn(atMs: number, zone: string): string {
  let f = zoneFormats.get(zone)
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })
    } catch {
      throw new Error(`tiktok emulator: unknown time zone ${zone}`)
    }
    zoneFormats.set(zone, f)
  }
  const p = Object.fromEntries(f.formatToParts(atMs).map((x) => [x.type, x.value]))
  return `${p.year}-${p.month}-${p.day}`
}

/** A real calendar day as `YYYY-MM-DD`. */
export function isDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false
  const at = Date.parse(`${value}T00:00:00Z`)
  return Number.isFinite(at) && new Date(at).toISOString().slice(0, 10) === value
}

function checkFields(fields: FormField[]): FormField[] {
  const names = new Set<string>()
  for (const field of fields) {
    if (field.name === '') throw new Error('tiktok emulator: a form field needs a name')
    if (names.has(field.name)) throw new Error(`tiktok emulator: duplicate form field ${field.name}`)
    names.add(field.name)
  }
  return fields.map((f) => ({ ...f }))
}

export { checkFields }
