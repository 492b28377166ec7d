/** A portal's data as the REST methods print it: users, lead user fields, statuses, bindings. */

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

/**
 * A system notification as the portal keeps it (im.notify.system.add), for assertions.
 * @see api-reference/chats/notifications/im-notify-system-add.md
 */
export interface PortalNotification {
  id: number
  userId: number
  /** MESSAGE after trimming (BB-code kept as sent). */
  message: string
  messageOut: string | null
  tag: string | null
  subTag: string | null
  /** ATTACH as an object (a JSON string is parsed), null without one. */
  attach: unknown
  /** The app that sent it (its client_id). */
  clientId: string
  /** ms when it was added. */
  at: number
}

/**
 * A to-do (universal activity, PROVIDER_ID CRM_TODO) in a CRM record's timeline, for assertions.
 * @see api-reference/crm/timeline/activities/todo/crm-activity-todo-add.md
 */
export interface PortalActivity {
  id: number
  /**
   * A to-do (crm.activity.todo.add: TYPE_ID 6, PROVIDER_ID CRM_TODO, its START/END_TIME the
   * deadline) or a call a person logged in the timeline (TYPE_ID 2, VOXIMPLANT_CALL / CALL, its
   * START_TIME and END_TIME the call's). @see api-reference/crm/timeline/activities/activity-base/crm-activity-get.md
   */
  kind: 'todo' | 'call'
  /** A call's start and end, ms; null for a to-do. */
  callStart: number | null
  callEnd: number | null
  /** 1 lead, 2 deal, 3 contact. @see api-reference/crm/data-types.md (object_type) */
  ownerTypeId: number
  ownerId: number
  /** ms of the deadline. */
  deadline: number
  title: string
  description: string
  responsibleId: number
  /** Reminders, minutes before the deadline. */
  pingOffsets: number[]
  colorId: string | null
  parentActivityId: number | null
  authorId: number
  editorId: number
  /** ms */
  createdAt: number
  /** ms of the last change */
  updatedAt: number
  completed: boolean
  /** ms of the completion, null while open. */
  completedAt: number | null
  /** Who completed it. */
  completedBy: number | null
}
