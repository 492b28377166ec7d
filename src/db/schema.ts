import type { Generated, Insertable, Selectable, Updateable } from 'kysely'

export type PortalState = 'active' | 'needs_reauth' | 'uninstalled'

/** Rows exactly as better-sqlite3 returns them: ISO text times, integer unix seconds for token expiry. */
export interface PortalTable {
  member_id: string
  domain: string
  client_endpoint: string
  server_endpoint: string
  access_token: string | null
  refresh_token: string | null
  expires_at: number
  scope: string
  app_status: string
  lang: string
  installer_user_id: number | null
  application_token: string | null
  state: PortalState
  state_reason: string | null
  installed_at: string
  updated_at: string
  uninstalled_at: string | null
  /** crm.settings.mode.get: 1 classic (leads), 2 simple (leads off: contact + deal), null not known yet */
  crm_mode: number | null
  /** unix ms of the last crm.settings.mode.get */
  crm_mode_checked_at: number | null
  /** app.info VERSION last seen on the portal (null: not known yet) */
  app_version: string | null
  /** the version the stored application_token came with; another than app_version: an update's token was missed */
  app_token_version: string | null
}

export interface PortalEventTable {
  id: Generated<number>
  member_id: string
  event: string
  payload: string
  received_at: string
}

export type VerifyMode = 'log_only' | 'enforce'
export type DedupPolicy = 'off' | 'skip' | 'update' | 'link'

export interface PortalSettingsTable {
  member_id: string
  webhook_key: string
  signing_secret: string
  previous_secret: string | null
  /** unix ms until which the previous secret still verifies */
  previous_secret_until: number | null
  /** the webhook key before the last rotation, and until when (unix ms) it still accepts leads */
  previous_webhook_key: string | null
  previous_webhook_key_until: number | null
  /** unix ms until which the first ONAPPINSTALL after the install POST is believed */
  install_event_until: number | null
  verify_mode: Generated<VerifyMode>
  rate_per_s: Generated<number>
  dedup_policy: Generated<DedupPolicy>
  default_country: string | null
  mapping_json: Generated<string>
  /** days finished leads' payloads and events are kept: null = the server's RETENTION_DAYS, 0 = keep */
  retention_days: number | null
  /** how a full name is split: 'auto' | 'given_first' | 'family_first' | 'full_in_name' */
  name_order: Generated<string>
  last_verify_scheme: string | null
  last_verify_detail: string | null
  last_webhook_at: string | null
  updated_at: string
  /** speed-to-lead (0012): notify the lead's responsible user at delivery (0/1) */
  notify_responsible: Generated<number>
  /** a to-do due this many minutes after delivery; null = no to-do */
  todo_minutes: number | null
  /** the to-do's reminders: JSON list of minutes before its deadline (pingOffsets) */
  todo_pings: Generated<string>
  /** health alert when no lead came for this many hours in a period that normally has leads; null = off */
  alert_silence_hours: number | null
  /** the last failed notification / to-do that rode with a lead; null = none since the last success */
  notify_error: string | null
  todo_error: string | null
}

export type B24Entity = 'lead' | 'deal'

export type LeadStatus = 'received' | 'queued' | 'sending' | 'delivered' | 'duplicate' | 'failed'

/** STATUS_SEMANTIC_ID / STAGE_SEMANTIC_ID: P in progress, S success (won), F failure (lost). */
export type StageSemantic = 'P' | 'S' | 'F'

/** Lead times are unix milliseconds: the dispatcher and the counters compare and subtract them. */
export interface LeadTable {
  id: Generated<number>
  member_id: string
  tiktok_lead_id: string
  format: string
  is_test: Generated<number>
  status: Generated<LeadStatus>
  lead_json: string
  raw_json: string
  verify_scheme: string | null
  verify_valid: number | null
  attempts: Generated<number>
  next_attempt_at: Generated<number>
  /** what the lead became: a lead, or in simple CRM mode a deal (whose id is then in b24_lead_id) */
  b24_entity: Generated<B24Entity>
  b24_lead_id: number | null
  /** simple CRM mode: the contact the deal is bound to (new or reused) */
  b24_contact_id: number | null
  /** the lead's STATUS_ID (a deal's STAGE_ID) in Bitrix24, as last read after an offline event */
  b24_stage_id: string | null
  /** its semantic: P in progress, S won, F lost */
  b24_stage_semantic: StageSemantic | null
  /** unix ms of that read */
  b24_stage_at: number | null
  /** the stage the app wrote the record at (mapped, or the initial stage; migration 0015); null for leads delivered before */
  b24_delivered_stage_id: string | null
  /** unix ms a person first worked the lead: its first stage change after delivery or its first completed activity, the earlier; null until then */
  first_contact_at: number | null
  /** where the lead came from on TikTok (migration 0014; null when the body did not say): the analytics' grouping */
  advertiser_id: string | null
  campaign_id: string | null
  adgroup_id: string | null
  ad_id: string | null
  /** the instant form (TikTok calls forms pages) */
  page_id: string | null
  campaign_name: string | null
  adgroup_name: string | null
  ad_name: string | null
  form_name: string | null
  duplicate_of: string | null
  last_error: string | null
  received_at: number
  sent_at: number | null
  done_at: number | null
  updated_at: number
}

export interface TikTokOAuthStateTable {
  nonce: string
  member_id: string
  user_id: number
  user_name: string
  /** the callback TikTok redirects to; its origin is also where the portal's webhook URL lives */
  redirect_uri: string
  /** unix ms */
  expires_at: number
}

export interface TikTokGrantTable {
  id: string
  member_id: string
  user_id: number
  user_name: string
  token_sealed: string
  scope_json: string
  /** [{advertiserId, advertiserName}] granted by this authorisation */
  advertisers_json: string
  callback_url: string
  expires_at: number
}

export type TikTokConnectionStatus = 'active' | 'token_invalid' | 'subscription_lost' | 'error'

/** Times are unix ms. */
export interface TikTokConnectionTable {
  advertiser_id: string
  member_id: string
  advertiser_name: string
  token_sealed: string
  scope_json: string
  /** the portal's webhook URL the subscriptions deliver to */
  callback_url: string
  connected_by_id: number
  connected_by_name: string
  connected_at: number
  import_days: Generated<number>
  all_forms: Generated<number>
  /** the advertiser-wide subscription when all_forms = 1 */
  subscription_id: string | null
  status: Generated<TikTokConnectionStatus>
  status_reason: string | null
  last_check_at: number | null
  /** the CRM event set stage changes go to (crm/list); null: none chosen, nothing is sent */
  crm_event_set_id: string | null
  crm_event_set_name: string | null
  /** JSON {"lead"|"deal": {stageId: TikTok event name or null}} (src/quality/stage-map.ts) */
  crm_stage_map_json: string | null
  /** the ad account's time zone (advertiser/info), an IANA name; null until first asked (migration 0016) */
  time_zone: string | null
  updated_at: number
}

export interface TikTokFormTable {
  advertiser_id: string
  page_id: string
  member_id: string
  title: string
  status: string
  selected: Generated<number>
  /** this form's own subscription when the connection picks some forms */
  subscription_id: string | null
  fields_json: Generated<string>
  new_fields_json: Generated<string>
  last_backfill_at: number | null
  last_backfill_added: number | null
  last_backfill_error: string | null
  test_lead_id: string | null
  test_lead_at: number | null
  updated_at: number
}

export type TikTokEventStatus = 'pending' | 'sent' | 'too_old' | 'failed'

/** A CRM event for TikTok's /event/track/ (src/quality/outbox.ts). event_time unix s, other times unix ms. */
export interface TikTokEventOutboxTable {
  id: Generated<number>
  member_id: string
  lead_id: number
  advertiser_id: string
  event_set_id: string
  event: string
  event_id: string
  event_time: number
  status: Generated<TikTokEventStatus>
  attempts: Generated<number>
  next_attempt_at: number
  last_error: string | null
  created_at: number
  sent_at: number | null
}

export interface TikTokUnsubscribeOutboxTable {
  subscription_id: string
  attempts: Generated<number>
  next_attempt_at: number
  last_error: string | null
}

/** An administrator of the portal as the app has seen them (no REST method lists them). Times are unix ms. */
export interface PortalAdminTable {
  member_id: string
  user_id: number
  last_seen_at: number
}

/** One alert kind's state on a portal (src/alerts/). Times are unix ms. */
export interface AlertStateTable {
  member_id: string
  kind: string
  /** 0/1: the condition holds now */
  active: Generated<number>
  started_at: number | null
  /** when the admins were last told; null = not yet */
  last_sent_at: number | null
  resolved_at: number | null
  detail: string | null
}

export type SpendLevel = 'campaign' | 'adgroup' | 'ad'

/** A day of an ad account's report at one level, asked of TikTok at `fetched_at` (unix ms); `day` is YYYY-MM-DD. */
export interface TikTokSpendDayTable {
  advertiser_id: string
  level: SpendLevel
  day: string
  fetched_at: number
}

/** One entity's numbers on that day, as report/integrated/get gave them (spend in the ad account's currency). */
export interface TikTokSpendTable {
  advertiser_id: string
  level: SpendLevel
  day: string
  entity_id: string
  spend: number
  impressions: number
  clicks: number
}

export interface Database {
  portals: PortalTable
  portal_events: PortalEventTable
  portal_settings: PortalSettingsTable
  leads: LeadTable
  tiktok_oauth_states: TikTokOAuthStateTable
  tiktok_grants: TikTokGrantTable
  tiktok_connections: TikTokConnectionTable
  tiktok_forms: TikTokFormTable
  tiktok_unsubscribe_outbox: TikTokUnsubscribeOutboxTable
  tiktok_spend_days: TikTokSpendDayTable
  tiktok_spend: TikTokSpendTable
  tiktok_event_outbox: TikTokEventOutboxTable
  portal_admins: PortalAdminTable
  alert_states: AlertStateTable
}

export type TikTokGrant = Selectable<TikTokGrantTable>
export type TikTokConnection = Selectable<TikTokConnectionTable>
export type TikTokForm = Selectable<TikTokFormTable>
export type TikTokEventRow = Selectable<TikTokEventOutboxTable>

export type PortalSettings = Selectable<PortalSettingsTable>
export type PortalSettingsUpdate = Updateable<PortalSettingsTable>
export type Lead = Selectable<LeadTable>
export type NewLead = Insertable<LeadTable>

export type AlertState = Selectable<AlertStateTable>

export type Portal = Selectable<PortalTable>
export type NewPortal = Insertable<PortalTable>
export type PortalUpdate = Updateable<PortalTable>
