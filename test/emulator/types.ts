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
  /** The operating limit and the server time each call costs (see operating.ts). */
  operating?: OperatingOptions
}

/**
 * The operating limit: per portal, per app, per method, ten baskets of `basketSec`.
 * @see settings/performance/limits.md "Resource Intensity Limits"
 */
export interface OperatingOptions {
  /** The limit on a method's accumulated time, seconds. Default 480. */
  limitSec?: number
  /** One basket's length, seconds; ten baskets are the window. Default 60. */
  basketSec?: number
  /**
   * Per lower-case method: [min, max] seconds of server time per call, uniform jitter.
   * Default `{ 'crm.lead.add': [0.1, 0.5] }`, and [0.005, 0.02] for any other method.
   */
  costSec?: Record<string, [number, number]>
  /** true: a request really takes its cost in wall time (a batch: the sum). Default false. */
  realTime?: boolean
  /** A request costing more is interrupted by timeout (limits.md: 60 s). Default 60. */
  maxRequestSec?: number
}

export type Plan = 'free' | 'pro' | 'enterprise'

/**
 * What `faults.failNext` does to a request (faults.ts): 500/503 nothing run; 'timeout' no answer,
 * nothing run; 'timeout-after-processing' / 'reset' run, then no answer / socket destroyed;
 * 'cut-mid-batch' socket destroyed after about half the batch's commands, the rest still run;
 * 'http-404' an HTML 404 page without a JSON error code, nothing run.
 */
export type FaultKind = 500 | 503 | 'timeout' | 'reset' | 'timeout-after-processing' | 'cut-mid-batch' | 'http-404'

/** Codes `faults.failCommands` puts in a batch command's result_error. */
export type CommandFaultCode = 'QUERY_LIMIT_EXCEEDED' | 'OPERATION_TIME_LIMIT' | 'ERROR_CORE' | 'INTERNAL_SERVER_ERROR'

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
  /** Set when an event fault dropped this POST (it never reached the app). */
  fault?: 'lost'
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

/** @see api-reference/crm/leads/userfield/crm-lead-userfield-add.md (USER_TYPE_ID) */
export type UserFieldType =
  | 'string'
  | 'integer'
  | 'double'
  | 'boolean'
  | 'datetime'
  | 'date'
  | 'money'
  | 'url'
  | 'address'
  | 'enumeration'
  | 'file'
  | 'employee'
  | 'crm_status'
  | 'iblock_section'
  | 'iblock_element'
  | 'crm'

/** Language id → text, e.g. `{ en: 'Budget', de: 'Budget' }`. */
export type LangMap = Record<string, string>

export type UserFieldLabelKind =
  | 'EDIT_FORM_LABEL'
  | 'LIST_COLUMN_LABEL'
  | 'LIST_FILTER_LABEL'
  | 'ERROR_MESSAGE'
  | 'HELP_MESSAGE'

/**
 * What `portal.addUserField` takes: the field as a test wants it, without the REST checks.
 * `EDIT_FORM_LABEL` (or `LABEL`) becomes every label in every language, like crm.lead.userfield.add's
 * LABEL; without either the labels are the field name.
 */
export interface UserFieldInput {
  FIELD_NAME: string
  USER_TYPE_ID: UserFieldType
  LIST?: Array<{ VALUE: string; SORT?: number; DEF?: 'Y' | 'N'; XML_ID?: string }>
  MANDATORY?: 'Y' | 'N'
  MULTIPLE?: 'Y' | 'N'
  EDIT_FORM_LABEL?: string
  LABEL?: string
  XML_ID?: string
  SORT?: number
  SETTINGS?: Record<string, unknown>
}

/** An enumeration item as crm.lead.userfield.list prints it. */
export interface UserFieldEnumItem {
  ID: string
  VALUE: string
  SORT: string
  DEF: 'Y' | 'N'
  XML_ID: string
}

/**
 * A lead user field as crm.lead.userfield.get answers it (labels per language).
 * @see api-reference/crm/leads/userfield/crm-lead-userfield-get.md
 */
export interface UserField {
  ID: number
  ENTITY_ID: 'CRM_LEAD'
  FIELD_NAME: string
  USER_TYPE_ID: UserFieldType
  XML_ID: string | null
  SORT: number
  MULTIPLE: 'Y' | 'N'
  MANDATORY: 'Y' | 'N'
  SHOW_FILTER: string
  SHOW_IN_LIST: 'Y' | 'N'
  EDIT_IN_LIST: 'Y' | 'N'
  IS_SEARCHABLE: 'Y' | 'N'
  SETTINGS: Record<string, unknown>
  /** Enumeration items, ordered by SORT then ID. */
  LIST: UserFieldEnumItem[]
  EDIT_FORM_LABEL: LangMap
  LIST_COLUMN_LABEL: LangMap
  LIST_FILTER_LABEL: LangMap
  ERROR_MESSAGE: LangMap
  HELP_MESSAGE: LangMap
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
  /** Source key of an offline binding. @see api-reference/events/offline-events.md */
  auth_connector?: string
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
  /** Registers a lead user field (as an admin's crm.lead.userfield.add would) and returns it. */
  addUserField(f: UserFieldInput): UserField
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
  /**
   * The next n matching commands inside a batch are not executed and get
   * `result_error[key] = {error: code, error_description}`.
   */
  failCommands(n: number, code: CommandFaultCode | string, opts?: { method?: string; memberId?: string }): void
  /** Added to every REST reply. */
  latencyMs: number
  /** Every access token issued so far is now expired (expired_token on use). */
  expireAllTokens(): void
  /** Makes `/oauth/token/` fail. */
  refreshFails: RefreshFault
  /** Event delivery faults (events are queued, may be late, are never retried). */
  events: EventFaults
  clear(): void
}

/**
 * Faults of outbound event delivery. Events are queued on the portal, may arrive late or out of
 * order, and a lost one is never retried. @see events/index.md, api-reference/events/index.md
 */
export interface EventFaults {
  /** The next n event POSTs are never sent (status 0, body 'lost'). */
  loseNext: number
  /** Every event POST waits this long before it goes out. */
  delayMs: number
  /** Each event is held back and sent right after the next one (pairs swap order). */
  reorder: boolean
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
  /** A new app version: new application_token, old bindings gone, ONAPPUPDATE delivered. */
  updateApp(portal: Portal, opts: { version: string }): Promise<HttpReply[]>
  faults: Faults
  calls: RecordedCall[]
  oauthCalls: RecordedOAuthCall[]
  /** Every POST the emulator made to the app (install, placements, events). */
  deliveries: RecordedDelivery[]
  /**
   * restRequests: every HTTP request to a portal's REST; rateLimited: every QUERY_LIMIT_EXCEEDED
   * answer (bucket or injected 503); refreshes: successful refresh_token grants;
   * operatingRefused: every OPERATION_TIME_LIMIT answer (direct or a batch command, injected or not).
   */
  counters: { rateLimited: number; restRequests: number; refreshes: number; operatingRefused: number }
  /** Changes the operating-limit settings (merged; the counted sums stay). */
  setOperating(o: OperatingOptions): void
  /** Resolves when the fire-and-forget event deliveries started so far have finished. */
  settled(): Promise<void>
  /**
   * A person moves a lead to `statusId` in the CRM (STATUS_ID and STATUS_SEMANTIC_ID change;
   * ONCRMLEADUPDATE goes online and into the offline queue). See offline-events.ts.
   */
  moveLead(portal: Portal, leadId: number, statusId: string, opts?: { userId?: number }): void
  /** The same for a deal's STAGE_ID / STAGE_SEMANTIC_ID (ONCRMDEALUPDATE). */
  moveDeal(portal: Portal, dealId: number, stageId: string, opts?: { userId?: number }): void
  /** The app's offline event queue on the portal, every record, reserved ones included. */
  offlineQueue(portal: Portal): ReadonlyArray<{
    id: number
    event: string
    entityId: number
    processId: string
    connector: string
    error: boolean
  }>
}
