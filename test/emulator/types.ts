/**
 * The emulator's public shapes. Other code and tests are written against these names:
 * change them only together with their users.
 */

export interface EmulatorOptions {
  /** The registered app's OAuth client. Default `local.test.app`. */
  clientId?: string
  /** Default `test-secret`. */
  clientSecret?: string
  /** Scopes granted to the app. Default `crm,placement,user_brief`. */
  scope?: string
  /** Access token lifetime. Default 3600. */
  tokenTtlSec?: number
  /**
   * Refresh token lifetime. Default 180 days: the OAuth docs give 180 days, not 28.
   * @see settings/oauth/auto-renewal.md (b24restdocs)
   */
  refreshTtlSec?: number
  /** Leaky bucket drain per second. Default 2 (enterprise plan: 5). */
  drainRate?: number
  /** Bucket size. Default 50 (enterprise plan: 250). */
  burst?: number
  /** ms clock; tests inject one to make expiry and the bucket deterministic. Default Date.now. */
  now?: () => number
  /** fastify logger. Default false. */
  logger?: boolean
  /** Timeout of the emulator's own outbound POSTs (install, placement, events). Default 10000. */
  outboundTimeoutMs?: number
}

export type Plan = 'free' | 'pro' | 'enterprise'

export type FaultKind = 500 | 503 | 'timeout' | 'reset' | 'timeout-after-processing'

export type RefreshFault = false | 'invalid_grant' | 'portal_deleted' | 500

export interface RecordedCall {
  at: number
  memberId: string
  /** Lower-case method name, as Bitrix24 resolves it. */
  method: string
  /** Request parameters without `auth`. */
  params: unknown
  /** HTTP status the call got (a batch sub-command: the status it would have had alone); 0 = no answer. */
  status: number
  error?: string
  inBatch?: boolean
  userId?: number
}

export interface RecordedOAuthCall {
  at: number
  httpMethod: 'GET' | 'POST'
  grantType: string
  clientId: string
  refreshToken?: string
  memberId?: string
  status: number
  error?: string
}

export interface RecordedDelivery {
  at: number
  memberId: string
  kind: 'install' | 'placement' | 'event'
  url: string
  event?: string
  status: number
}

export interface HttpReply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface IssuedTokens {
  access_token: string
  refresh_token: string
  /** Unix seconds. */
  expires: number
  expires_in: number
}

export interface PortalUser {
  ID: number
  NAME: string
  LAST_NAME: string
  EMAIL: string
  ADMIN: boolean
  ACTIVE: boolean
}

export type UserFieldType = 'string' | 'enumeration' | 'integer' | 'double' | 'date' | 'boolean'

export interface UserFieldInput {
  FIELD_NAME: string
  USER_TYPE_ID: UserFieldType
  LIST?: Array<{ VALUE: string }>
  MANDATORY?: 'Y' | 'N'
  MULTIPLE?: 'Y' | 'N'
  EDIT_FORM_LABEL?: string
}

export interface UserField {
  FIELD_NAME: string
  USER_TYPE_ID: UserFieldType
  LIST: Array<{ ID: string; VALUE: string }>
  MANDATORY: 'Y' | 'N'
  MULTIPLE: 'Y' | 'N'
  EDIT_FORM_LABEL: string
}

export interface CrmStatus {
  ID: string
  ENTITY_ID: string
  STATUS_ID: string
  NAME: string
  NAME_INIT: string
  SORT: string
  SYSTEM: 'Y' | 'N'
  CATEGORY_ID: string | null
  COLOR: string
  SEMANTICS: string | null
  EXTRA?: { SEMANTICS: string; COLOR: string }
}

export interface PlacementBinding {
  PLACEMENT: string
  HANDLER: string
  TITLE: string
  DESCRIPTION?: string
  LANG_ALL?: Record<string, unknown>
  OPTIONS?: Record<string, unknown>
}

export interface EventBinding {
  event: string
  handler: string
  event_type: string
  auth_type?: number
  id?: number
}

export interface Portal {
  readonly memberId: string
  /**
   * Default `127.0.0.1:PORT/p/<memberId>`, so that `http://${DOMAIN}/rest/` (how an app turns
   * the install POST's DOMAIN and PROTOCOL into a REST base) is exactly `clientEndpoint`.
   */
  readonly domain: string
  readonly clientEndpoint: string
  readonly serverEndpoint: string
  installed: boolean
  applicationToken: string | null
  users: PortalUser[]
  leads: Map<number, Record<string, unknown>>
  placements: PlacementBinding[]
  events: EventBinding[]
  issueToken(userId?: number): IssuedTokens
  addUserField(f: UserFieldInput): void
  // Extras beyond the agreed interface:
  readonly plan: Plan
  crmMode: 1 | 2
  lang: string
  /** App status letter sent as `status` (L local, F free, D demo, T trial, P paid, S subscription). */
  appStatus: string
  readonly deals: Map<number, Record<string, unknown>>
  readonly contacts: Map<number, Record<string, unknown>>
  readonly userFields: UserField[]
  /** crm.status.list data; push to add e.g. a custom SOURCE. */
  readonly statuses: CrmStatus[]
  /** Current leaky-bucket level (requests not yet drained). */
  bucketLevel(): number
}

export interface CreatePortalInput {
  memberId?: string
  domain?: string
  plan?: Plan
  drainRate?: number
  burst?: number
  crmMode?: 1 | 2
  lang?: string
}

export interface Faults {
  failNext(n: number, kind: FaultKind, opts?: { method?: string; memberId?: string }): void
  /** Added to every REST reply. */
  latencyMs: number
  /** Every access token issued so far is now expired (expired_token on use). */
  expireAllTokens(): void
  /** Makes `/oauth/token/` fail. */
  refreshFails: RefreshFault
  clear(): void
}

export interface InstallAppInput {
  installUrl: string
  eventHandlerUrl?: string
  userId?: number
  status?: string
  /**
   * Whether the install page "calls installFinish()" after its POST. Default true. With false
   * the app stays not installed (app.info INSTALLED false, no events) until `finishInstall`.
   */
  finish?: boolean
}

export interface Emulator {
  /** The HTTP server, for test pages that must share the portal's origin (the frame host). */
  readonly server: import('node:http').Server
  listen(port?: number): Promise<string>
  close(): Promise<void>
  readonly url: string
  readonly oauthUrl: string
  createPortal(p?: CreatePortalInput): Portal
  portal(memberId: string): Portal | undefined
  installApp(portal: Portal, app: InstallAppInput): Promise<HttpReply>
  /** Completes an install started with `finish: false`, then delivers ONAPPINSTALL. */
  finishInstall(portal: Portal): Promise<HttpReply[]>
  openPlacement(
    portal: Portal,
    args: { url: string; placement?: string; options?: Record<string, unknown>; userId?: number },
  ): Promise<HttpReply>
  deliverEvent(
    portal: Portal,
    event: string,
    data: Record<string, unknown>,
    opts?: { applicationToken?: string; url?: string },
  ): Promise<HttpReply[]>
  uninstallApp(portal: Portal, opts?: { clean?: boolean }): Promise<HttpReply[]>
  faults: Faults
  calls: RecordedCall[]
  oauthCalls: RecordedOAuthCall[]
  /** Every POST the emulator made to the app (install, placements, events). */
  deliveries: RecordedDelivery[]
  /**
   * restRequests: every HTTP request to a portal's REST; rateLimited: every QUERY_LIMIT_EXCEEDED
   * answer (bucket or injected 503); refreshes: successful refresh_token grants.
   */
  counters: { rateLimited: number; restRequests: number; refreshes: number }
  /** Resolves when the fire-and-forget event deliveries started so far have finished. */
  settled(): Promise<void>
}
