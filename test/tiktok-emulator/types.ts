/**
 * The TikTok emulator's public shapes. Other code and tests are written against these names:
 * change them only together with their users.
 */

export interface TikTokEmulatorOptions {
  /** The developer app (My Apps > App Detail > Basic Information). */
  appId: string
  appSecret: string
  /** ms clock; tests inject one for expiry, quota windows, task timing. Default Date.now. */
  now?: () => number
  /**
   * App-wide quota over every endpoint and token. Default 10/s and 600/min.
   * @see reference/tiktok.md §6 (api-evangelist/tiktok-ads rate-limits, citing TikTok's rate-limit page)
   */
  quota?: { perSecond: number; perMinute: number }
  /**
   * `/event/track/`'s own quota, apart from the app-wide one (a throttled reporting or leads API
   * does not stop it, and it does not use that up). Default 1000/s and 60,000/min.
   * @see reference/tiktok.md §8 ("/event/track/ has its own, much larger quota"); [INFERRED] the numbers
   */
  eventQuota?: { perSecond: number; perMinute: number }
  /**
   * Push retries: exponential backoff until `windowMs` after the first attempt. Default 60 s, ×2, 72 h.
   * @see developers.tiktok.com/doc/webhooks-overview ("retries … for up to 72 hours using exponential backoff")
   */
  retry?: { firstDelayMs: number; factor: number; windowMs: number }
  /** How long a lead download task stays RUNNING. Default 2000. */
  taskDelayMs?: number
  /** An export whose raw CSV is larger is served as zip. Default 10 MiB. @see bububa api/page/lead/task_download.go */
  zipThresholdBytes?: number
  /** Export file life after SUCCEED. Default 10 min. @see promopult/tiktok-marketing-api src/Service/Leads.php */
  fileTtlMs?: number
  /** auth_code life. Default 1 h. @see bububa model/oauth/access_token.go ("valid 1 hour, usable once") */
  authCodeTtlMs?: number
  /** Ids in webhook bodies as bare JSON numbers (default true). REST answers always carry strings. */
  numericIds?: boolean
  /** Timeout of one push POST. Default 10000. [INFERRED] TikTok publishes none. */
  pushTimeoutMs?: number
  /** Permission ids granted on approval (`data.scope`). Default: Lead Management ids. */
  scope?: number[]
}

/**
 * A question of an instant form. TikTok's `/page/field/get/` answers only the names
 * (`data.fields: string[]`, bububa model/page/field/get.go), with no type and no options:
 * `type` and `options` exist here only to render the demo form and to make sample answers.
 */
export interface FormField {
  name: string
  type?: 'TEXT' | 'EMAIL' | 'PHONE_NUMBER' | 'SINGLE_CHOICE' | 'MULTIPLE_CHOICE' | 'DATE'
  options?: string[]
}

export type PageStatus = 'PUBLISHED' | 'EDITED'

/** Campaign data a lead carries; wire names. Missing ones come from the form's default ad. */
export interface LeadCampaign {
  campaign_id?: string
  campaign_name?: string
  adgroup_id?: string
  adgroup_name?: string
  ad_id?: string
  ad_name?: string
}

export interface SubmitLeadOptions {
  /** Unix seconds. Default now. */
  createTime?: number
  campaign?: LeadCampaign
}

export interface SubscriptionView {
  subscriptionId: string
  callbackUrl: string
  advertiserId: string
  pageId: string | null
  /** false once its token was revoked or it was deleted/unsubscribed. */
  valid: boolean
}

export interface RecordedDelivery {
  /** now() when the attempt started, ms. */
  at: number
  url: string
  subscriptionId: string
  leadIds: string[]
  /** 1 for the first try. */
  attempt: number
  /** HTTP status; 0 = no answer (network error, timeout). */
  status: number
  headers: Record<string, string>
  body: string
  /** What followed this attempt: done, another try scheduled, or given up (window over, subscription gone). */
  outcome: 'delivered' | 'retry' | 'gave_up'
}

export interface RecordedApiCall {
  at: number
  method: string
  /** Request path without the query, e.g. `/open_api/v1.3/page/get/`. */
  path: string
  /** Query parameters; `secret` and `access_token` are replaced by `[redacted]`. */
  query: Record<string, string>
  /** Parsed JSON body, same redaction. The Access-Token header is never recorded. */
  body: unknown
  /**
   * The envelope's `code` (0 = OK; a file download counts as 0); -1 when a fault sent no
   * envelope (a 5xx, a reset before processing).
   */
  code: number
  /** The fault that hit this call, if one did. */
  fault?: TikTokFaultKind
}

/** What a fault does to an API call: see faults.ts. */
export type TikTokFaultKind = 500 | 503 | 'system-error' | 'reset' | 'reset-after-processing'

export interface TikTokFaults {
  /** Every matching API call fails this way until `clear()`. `endpoint` e.g. `'event/track'`; default all. */
  outage(kind: TikTokFaultKind, opts?: { endpoint?: string }): void
  /** The next n matching API calls fail this way. */
  failNext(n: number, kind: TikTokFaultKind, opts?: { endpoint?: string }): void
  /** TikTok is back. */
  clear(): void
}

/** One CRM event as `/event/track/` accepted it. Wire values as sent; `email`/`phone` are the hashes. */
export interface TrackedEvent {
  eventSetId: string
  advertiserId: string
  event: string
  /** Unix seconds, as sent. */
  eventTime: number
  eventId: string
  leadId: string
  leadEventSource: string | null
  email: string[]
  phone: string[]
  testEventCode: string | null
  /** now() when it arrived, ms. */
  receivedAt: number
  /** false: accepted but attributed to nothing, for `reason`. */
  matched: boolean
  /** too_old: more than 28 days before arrival; unknown_lead: no lead of this advertiser has the id. */
  reason: 'too_old' | 'unknown_lead' | null
}

export interface TrackedEvents {
  /** Unique events (event_source_id + event_id + event), first arrival kept, in arrival order. */
  events: TrackedEvent[]
  /** Later arrivals of an event already in `events`: accepted with code 0, counted once. */
  duplicates: TrackedEvent[]
}

/** One ad's numbers for one day (UTC), as `report/integrated/get/` adds them up. */
export interface AdDayStats {
  spend: number
  impressions: number
  clicks: number
  conversion?: number
  /** The ad's place, needed the first time an ad that no form runs in gets stats. */
  campaignId?: string
  adgroupId?: string
  campaignName?: string
  adgroupName?: string
  adName?: string
}

/**
 * An ad account. `timezone` is its zone (an IANA name; default Etc/GMT), what advertiser/info
 * answers as `timezone`; `displayTimezone` (default: the same) is its `display_timezone`, whose
 * days the reports split by. Give `timezone: 'Etc/GMT-7', displayTimezone: 'Asia/Ho_Chi_Minh'`
 * for an account whose `timezone` is the offset form.
 */
export interface AdvertiserInput {
  id?: string
  name: string
  timezone?: string
  displayTimezone?: string
  /** ISO 4217; default USD */
  currency?: string
}

export interface ReportHold {
  readonly waiting: number
  release(): void
}

export interface ApproveInput {
  state: string
  redirectUri: string
  /** Default: every advertiser. */
  advertiserIds?: string[]
}

export interface TikTokEmulator {
  /** Base URL; the API is under `${url}/open_api/v1.3/<endpoint>/`. */
  readonly url: string
  /** `${url}/portal/auth` */
  readonly authUrl: string
  listen(port?: number): Promise<string>
  close(): Promise<void>
  addRedirectUri(uri: string): void
  /** An ad account (see AdvertiserInput for its time zone). */
  addAdvertiser(input: AdvertiserInput): { id: string }
  addForm(
    advertiserId: string,
    input: { id?: string; title: string; fields?: FormField[]; status?: PageStatus },
  ): { pageId: string }
  setFormFields(pageId: string, fields: FormField[]): void
  submitLead(pageId: string, answers: Record<string, string>, opts?: SubmitLeadOptions): { leadId: string }
  approve(input: ApproveInput): Promise<{ location: string; authCode: string }>
  revokeAdvertiserAccess(advertiserId: string): void
  deleteSubscription(subscriptionId: string): void
  subscriptions(): SubscriptionView[]
  readonly deliveries: RecordedDelivery[]
  readonly calls: RecordedApiCall[]
  /** throttled: the app-wide quota said no; eventTrackThrottled: `/event/track/`'s own quota did. */
  readonly counters: { throttled: number; eventTrackThrottled: number }
  /** Outages and broken answers on purpose. */
  readonly faults: TikTokFaults
  /** A CRM event set in Events Manager (at most 50 per advertiser). */
  addCrmEventSet(advertiserId: string, input: { id?: string; name: string }): { eventSetId: string }
  /** What `/event/track/` accepted for an event set, or for every set of an advertiser. */
  trackedEvents(advertiserOrEventSetId: string): TrackedEvents
  /** Sets (replaces) one ad's numbers for one day, `YYYY-MM-DD`, a day of the ad account's zone. */
  setAdStats(advertiserId: string, adId: string, date: string, stats: AdDayStats): void
  /** Adds numbers spent at an instant (ms) to the ad's day in the ad account's zone. */
  addAdSpend(advertiserId: string, adId: string, atMs: number, stats: AdDayStats): void
  /** Holds report/integrated/get answers until released (`waiting`: requests held now). */
  holdReports(): ReportHold
  /** Resolves when no push is in flight or waiting for a retry. */
  settled(): Promise<void>
}
