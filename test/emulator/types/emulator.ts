/**
 * The emulator's public shapes: a portal and the emulator itself. Other code and tests are
 * written against these names (through index.ts): change them only together with their users.
 */
import type {
  CrmStatus,
  EventBinding,
  PlacementBinding,
  PortalActivity,
  PortalNotification,
  PortalUser,
  UserField,
  UserFieldInput,
} from './crm.js'
import type { Faults } from './faults.js'
import type { OperatingOptions, Plan } from './options.js'
import type { HttpReply, IssuedTokens, RecordedCall, RecordedDelivery, RecordedOAuthCall } from './records.js'

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
  /**
   * The notifications users have now (im.notify.system.add), oldest first: one replaced by a
   * later notice with the same TAG is gone. Copies.
   */
  notifications(userId?: number): PortalNotification[]
  /** To-dos (crm.activity.todo.add), all or of one record (ownerTypeId 1 lead, 2 deal, 3 contact). Copies. */
  activities(ownerTypeId?: number, ownerId?: number): PortalActivity[]
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

/** The records whose card has a tab the emulator opens (detail-tab.ts). */
export type DetailTabEntity = 'lead' | 'deal'

/** A user opens the app's tab in a lead or deal card (CRM_LEAD_DETAIL_TAB, CRM_DEAL_DETAIL_TAB). */
export interface OpenDetailTabInput {
  entity: DetailTabEntity
  /** the lead's or deal's id in this portal */
  id: number
  /** who opens the card (default 1, the portal's admin) */
  userId?: number
  /** which of several bound handlers (default the first bound) */
  handler?: string
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
  /**
   * A user opens the app's tab in a lead or deal card: the POST goes to the handler bound for
   * that tab, PLACEMENT_OPTIONS `{"ID": "<id>", "URI": …}`. Throws when the portal would show no
   * such tab (app not installed, nothing bound there, no such record).
   */
  openDetailTab(portal: Portal, input: OpenDetailTabInput): Promise<HttpReply>
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
   * ONCRMLEADUPDATE goes online and into the offline queue). See crm-moves.ts.
   */
  moveLead(portal: Portal, leadId: number, statusId: string, opts?: { userId?: number }): void
  /** The same for a deal's STAGE_ID / STAGE_SEMANTIC_ID (ONCRMDEALUPDATE). */
  moveDeal(portal: Portal, dealId: number, stageId: string, opts?: { userId?: number }): void
  /** A person completes a to-do in the timeline (COMPLETED Y; ONCRMACTIVITYUPDATE online and offline). */
  completeActivity(portal: Portal, activityId: number, opts?: { userId?: number }): void
  /**
   * A person edits a lead's fields without moving it (DATE_MODIFY changes, the stage and
   * MOVED_TIME stay; ONCRMLEADUPDATE online and offline). See crm-moves.ts.
   */
  editLead(portal: Portal, leadId: number, fields: Record<string, string>, opts?: { userId?: number }): void
  /** The same for a deal (ONCRMDEALUPDATE). */
  editDeal(portal: Portal, dealId: number, fields: Record<string, string>, opts?: { userId?: number }): void
  /**
   * A person logs a call they made in a record's timeline: an activity added completed, its
   * START_TIME/END_TIME the call's (ms, before now); ONCRMACTIVITYADD online and offline.
   * Answers its id.
   */
  logCall(
    portal: Portal,
    input: { ownerTypeId: number; ownerId: number; startedAt: number; endedAt: number; subject?: string },
    opts?: { userId?: number },
  ): number
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
