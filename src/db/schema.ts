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
  verify_mode: Generated<VerifyMode>
  rate_per_s: Generated<number>
  dedup_policy: Generated<DedupPolicy>
  default_country: string | null
  mapping_json: Generated<string>
  last_verify_scheme: string | null
  last_verify_detail: string | null
  last_webhook_at: string | null
  updated_at: string
}

export type LeadStatus = 'received' | 'queued' | 'sending' | 'delivered' | 'duplicate' | 'failed'

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
  b24_lead_id: number | null
  duplicate_of: string | null
  last_error: string | null
  received_at: number
  sent_at: number | null
  done_at: number | null
  updated_at: number
}

export interface Database {
  portals: PortalTable
  portal_events: PortalEventTable
  portal_settings: PortalSettingsTable
  leads: LeadTable
}

export type PortalSettings = Selectable<PortalSettingsTable>
export type PortalSettingsUpdate = Updateable<PortalSettingsTable>
export type Lead = Selectable<LeadTable>
export type NewLead = Insertable<LeadTable>

export type Portal = Selectable<PortalTable>
export type NewPortal = Insertable<PortalTable>
export type PortalUpdate = Updateable<PortalTable>
