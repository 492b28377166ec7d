/**
 * One emulated Bitrix24 portal ("account"): its users, CRM data, the app's bindings, and the
 * bucket that rate-limits the app on it.
 */
import { LeakyBucket, PLAN_LIMITS } from './bucket.js'
import { randomHex, type TokenStore } from './tokens.js'
import type {
  CrmStatus,
  EventBinding,
  PlacementBinding,
  PortalActivity,
  PortalNotification,
  PortalUser,
  UserField,
  UserFieldInput,
} from './types/crm.js'
import type { CreatePortalInput, Portal } from './types/emulator.js'
import type { Plan } from './types/options.js'
import type { IssuedTokens } from './types/records.js'
import { draftItems, fullFieldName, labelMap, userFieldSettings, type UserFieldDraft } from './user-fields.js'

/** What a portal needs from the emulator around it. */
export interface PortalHost {
  baseUrl(): string
  readonly tokens: TokenStore
  readonly now: () => number
  readonly drainRate: number | undefined
  readonly burst: number | undefined
}

/** EXTRA.SEMANTICS of a stage; the deal's APOLOGY stage is "apology" (crm-status-list.md's answer). */
type StageSemantics = 'process' | 'success' | 'failure' | 'apology'

/**
 * The record's STATUS_SEMANTIC_ID / STAGE_SEMANTIC_ID for a stage: from the stage's SEMANTICS
 * letter (S, F), P for in progress (null) or an unknown stage.
 * @see api-reference/crm/status/crm-status-list.md, api-reference/crm/leads/crm-lead-get.md
 */
export function semanticLetter(stage: CrmStatus | undefined): 'P' | 'S' | 'F' {
  return stage?.SEMANTICS === 'S' ? 'S' : stage?.SEMANTICS === 'F' ? 'F' : 'P'
}

function status(
  entityId: string,
  statusId: string,
  name: string,
  sort: number,
  id: number,
  extra?: { semantics: StageSemantics; color: string },
): CrmStatus {
  // The letter: S success, F failure and "apology" (a failure stage), null in progress.
  const letter =
    extra?.semantics === 'success' ? 'S' : extra === undefined || extra.semantics === 'process' ? null : 'F'
  return {
    ID: String(id),
    ENTITY_ID: entityId,
    STATUS_ID: statusId,
    NAME: name,
    NAME_INIT: name,
    SORT: String(sort),
    SYSTEM: 'Y',
    CATEGORY_ID: null,
    COLOR: extra?.color ?? '',
    SEMANTICS: letter,
    ...(extra ? { EXTRA: { SEMANTICS: extra.semantics, COLOR: extra.color } } : {}),
  }
}

/**
 * The default directories of a new portal.
 * @see api-reference/crm/leads/crm-lead-add.md (SOURCE_ID and STATUS_ID defaults)
 * @see api-reference/crm/status/crm-status-list.md (entry shape)
 */
export function defaultStatuses(): CrmStatus[] {
  let id = 1
  const sources: Array<[string, string]> = [
    ['CALL', 'Call'],
    ['EMAIL', 'E-mail'],
    ['WEB', 'Website'],
    ['ADVERTISING', 'Advertising'],
    ['PARTNER', 'Existing client'],
    ['RECOMMENDATION', 'By recommendation'],
    ['TRADE_SHOW', 'Trade show'],
    ['WEBFORM', 'CRM form'],
    ['CALLBACK', 'Callback'],
    ['RC_GENERATOR', 'Sales generator'],
    ['STORE', 'Online store'],
    ['OTHER', 'Other'],
  ]
  const out: CrmStatus[] = sources.map(([code, name], i) => status('SOURCE', code, name, (i + 1) * 10, id++))
  const leadStages: Array<[string, string, StageSemantics, string]> = [
    ['NEW', 'Unprocessed', 'process', '#2FC6F6'],
    ['IN_PROCESS', 'In process', 'process', '#55D0E0'],
    ['PROCESSED', 'Processed', 'process', '#FFA900'],
    ['CONVERTED', 'High-quality lead', 'success', '#7BD500'],
    ['JUNK', 'Low-quality lead', 'failure', '#FF5752'],
  ]
  for (const [i, [code, name, semantics, color]] of leadStages.entries()) {
    out.push(status('STATUS', code, name, (i + 1) * 10, id++, { semantics, color }))
  }
  const dealStages: Array<[string, string, StageSemantics, string]> = [
    ['NEW', 'New', 'process', '#39A8EF'],
    ['PREPARATION', 'Document preparation', 'process', '#2FC6F6'],
    ['PREPAYMENT_INVOICE', 'Prepayment invoice', 'process', '#55D0E0'],
    ['EXECUTING', 'In progress', 'process', '#47E4C2'],
    ['FINAL_INVOICE', 'Final invoice', 'process', '#FFA900'],
    ['WON', 'Deal won', 'success', '#7BD500'],
    ['LOSE', 'Deal lost', 'failure', '#FF5752'],
    ['APOLOGY', 'Failure reason analysis', 'apology', '#FF5752'],
  ]
  for (const [i, [code, name, semantics, color]] of dealStages.entries()) {
    out.push(status('DEAL_STAGE', code, name, (i + 1) * 10, id++, { semantics, color }))
  }
  const contactTypes: Array<[string, string]> = [
    ['CLIENT', 'Clients'],
    ['SUPPLIER', 'Suppliers'],
    ['PARTNER', 'Partners'],
    ['OTHER', 'Other'],
  ]
  for (const [i, [code, name]] of contactTypes.entries())
    out.push(status('CONTACT_TYPE', code, name, (i + 1) * 10, id++))
  return out
}

function defaultUsers(): PortalUser[] {
  return [
    { ID: 1, NAME: 'Anna', LAST_NAME: 'Admin', EMAIL: 'admin@example.test', ADMIN: true, ACTIVE: true },
    { ID: 2, NAME: 'Oleg', LAST_NAME: 'Manager', EMAIL: 'manager@example.test', ADMIN: false, ACTIVE: true },
  ]
}

export type IdKind =
  | 'lead'
  | 'deal'
  | 'contact'
  | 'multifield'
  | 'enumItem'
  | 'eventHandler'
  | 'userField'
  | 'notification'
  | 'activity'

export class PortalState implements Portal {
  readonly memberId: string
  readonly plan: Plan
  crmMode: 1 | 2
  lang: string
  appStatus = 'L'
  installed = false
  applicationToken: string | null = null
  /** The user who installed the app: events are authorized as them unless bound with auth_type. */
  installerUserId = 1
  /** `eventHandlerUrl` of the install in progress: ONAPPINSTALL goes there if nothing is bound. */
  pendingInstallHandler: string | undefined = undefined
  users: PortalUser[] = defaultUsers()
  leads = new Map<number, Record<string, unknown>>()
  readonly deals = new Map<number, Record<string, unknown>>()
  readonly contacts = new Map<number, Record<string, unknown>>()
  placements: PlacementBinding[] = []
  events: EventBinding[] = []
  readonly userFields: UserField[] = []
  readonly statuses: CrmStatus[] = defaultStatuses()
  /** Every notification sent and not replaced (im.notify.system.add), oldest first. */
  readonly notices: PortalNotification[] = []
  /** Activities by id: to-dos (crm.activity.todo.add) and calls a person logged (crm-moves.ts logCall). */
  readonly todos = new Map<number, PortalActivity>()
  readonly bucket: LeakyBucket
  private readonly explicitDomain: string | undefined
  private readonly ids: Record<IdKind, number> = {
    lead: 0,
    deal: 0,
    contact: 0,
    multifield: 0,
    enumItem: 40,
    eventHandler: 0,
    userField: 100,
    notification: 0,
    activity: 0,
  }

  constructor(
    private readonly host: PortalHost,
    input: CreatePortalInput,
  ) {
    this.memberId = input.memberId ?? randomHex(16)
    this.plan = input.plan ?? 'pro'
    this.crmMode = input.crmMode ?? 1
    this.lang = input.lang ?? 'en'
    this.explicitDomain = input.domain
    const limits = PLAN_LIMITS[this.plan]
    const drainRate = input.drainRate ?? (this.plan === 'enterprise' ? undefined : host.drainRate) ?? limits.drainRate
    const burst = input.burst ?? (this.plan === 'enterprise' ? undefined : host.burst) ?? limits.burst
    this.bucket = new LeakyBucket(drainRate, burst, host.now)
  }

  get domain(): string {
    if (this.explicitDomain !== undefined) return this.explicitDomain
    const base = this.host.baseUrl().replace(/^https?:\/\//, '')
    return `${base}/p/${this.memberId}`
  }

  get clientEndpoint(): string {
    return `${this.host.baseUrl()}/p/${this.memberId}/rest/`
  }

  get serverEndpoint(): string {
    return `${this.host.baseUrl()}/rest/`
  }

  issueToken(userId = 1): IssuedTokens {
    return this.host.tokens.issue(this.memberId, userId)
  }

  bucketLevel(): number {
    return this.bucket.current()
  }

  nextId(kind: IdKind): number {
    this.ids[kind] += 1
    return this.ids[kind]
  }

  user(id: number): PortalUser | undefined {
    return this.users.find((u) => u.ID === id)
  }

  /**
   * Registers a lead user field for a test, skipping the REST checks: the name gets the UF_CRM_
   * prefix, list items get ids, EDIT_FORM_LABEL (or LABEL) is every label in every language.
   * @see api-reference/crm/leads/userfield/crm-lead-userfield-add.md
   */
  addUserField(f: UserFieldInput): UserField {
    const name = fullFieldName(f.FIELD_NAME)
    if (this.userField(name)) throw new Error(`user field ${name} already exists`)
    const multiple = f.USER_TYPE_ID !== 'boolean' && f.MULTIPLE === 'Y'
    const label = f.LABEL ?? f.EDIT_FORM_LABEL ?? name
    return this.insertUserField({
      ENTITY_ID: 'CRM_LEAD',
      FIELD_NAME: name,
      USER_TYPE_ID: f.USER_TYPE_ID,
      XML_ID: f.XML_ID ?? null,
      SORT: f.SORT ?? 100,
      MULTIPLE: multiple ? 'Y' : 'N',
      MANDATORY: f.MANDATORY ?? 'N',
      SHOW_FILTER: 'N',
      SHOW_IN_LIST: 'N',
      EDIT_IN_LIST: 'Y',
      IS_SEARCHABLE: 'N',
      SETTINGS: userFieldSettings(f.USER_TYPE_ID, f.SETTINGS),
      LIST: f.USER_TYPE_ID === 'enumeration' ? draftItems(f.LIST ?? [], multiple) : [],
      EDIT_FORM_LABEL: labelMap(undefined, label),
      LIST_COLUMN_LABEL: labelMap(undefined, label),
      LIST_FILTER_LABEL: labelMap(undefined, label),
      ERROR_MESSAGE: labelMap(undefined, label),
      HELP_MESSAGE: labelMap(undefined, label),
    })
  }

  /**
   * Stores a checked field: it and its list items get ids, items without an XML_ID a generated
   * one (the docs' answers show 32 hex digits).
   * @see api-reference/crm/leads/userfield/crm-lead-userfield-list.md
   */
  insertUserField(draft: UserFieldDraft): UserField {
    const list = draft.LIST.map((item) => ({
      ID: String(this.nextId('enumItem')),
      VALUE: item.VALUE,
      SORT: String(item.SORT),
      DEF: item.DEF,
      XML_ID: item.XML_ID ?? randomHex(16),
    }))
    list.sort((a, b) => Number(a.SORT) - Number(b.SORT) || Number(a.ID) - Number(b.ID))
    const field: UserField = { ...draft, ID: this.nextId('userField'), LIST: list }
    this.userFields.push(field)
    // Leads stored before the field existed read it as empty, like a fresh lead.
    for (const lead of this.leads.values()) {
      if (!Object.hasOwn(lead, field.FIELD_NAME)) lead[field.FIELD_NAME] = field.MULTIPLE === 'Y' ? [] : null
    }
    return field
  }

  userField(name: string): UserField | undefined {
    return this.userFields.find((u) => u.FIELD_NAME === name)
  }

  /** The notifications a user (or everyone) has now: a later one with the same TAG replaced the earlier. */
  notifications(userId?: number): PortalNotification[] {
    return structuredClone(this.notices.filter((n) => userId === undefined || n.userId === userId))
  }

  /** Activities (to-dos, logged calls), all or in one record's timeline (ownerTypeId 1 lead, 2 deal, 3 contact), by id. */
  activities(ownerTypeId?: number, ownerId?: number): PortalActivity[] {
    return structuredClone(
      [...this.todos.values()].filter(
        (a) =>
          (ownerTypeId === undefined || a.ownerTypeId === ownerTypeId) &&
          (ownerId === undefined || a.ownerId === ownerId),
      ),
    )
  }

  statusesOf(entityId: string): CrmStatus[] {
    return this.statuses.filter((s) => s.ENTITY_ID === entityId)
  }

  eventHandlerId(binding: EventBinding): number {
    if (binding.id === undefined) binding.id = this.nextId('eventHandler')
    return binding.id
  }
}
