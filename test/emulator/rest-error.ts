/**
 * Every error the emulated portal answers, in one place: code, HTTP status, description.
 * Tests should check `error` and the status; descriptions are the documented texts where the
 * docs give one, otherwise marked as the emulator's own wording.
 *
 * @see _includes/system-errors.md (b24restdocs) for the system codes and statuses
 */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(`${code}: ${description}`)
  }

  body(): Record<string, unknown> {
    return { error: this.code, error_description: this.description, ...this.extra }
  }
}

export const restErrors = {
  /** @see _includes/system-errors.md: 401 NO_AUTH_FOUND "Wrong authorization data" */
  noAuth: () => new RestError(401, 'NO_AUTH_FOUND', 'Wrong authorization data'),
  /**
   * Not in the docs' table; the SDK treats 401 + invalid_token like expired_token.
   * @see node_modules/@bitrix24/b24jssdk/dist/esm/core/http/abstract-http.mjs `_isAuthError`
   */
  invalidToken: () => new RestError(401, 'invalid_token', 'The access token provided is invalid'),
  /** @see _includes/system-errors.md: 401 expired_token */
  expiredToken: () => new RestError(401, 'expired_token', 'The access token provided has expired'),
  /** @see _includes/system-errors.md: 403 insufficient_scope */
  insufficientScope: () =>
    new RestError(
      403,
      'insufficient_scope',
      'The request requires higher privileges than provided by the access token',
    ),
  /** 404 per bitrix24.md §3; description as the portal prints it. */
  methodNotFound: () => new RestError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!'),
  /** @see _includes/system-errors.md: 503 QUERY_LIMIT_EXCEEDED "Too many requests" */
  queryLimit: () => new RestError(503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests'),
  /** @see _includes/system-errors.md: 500 INTERNAL_SERVER_ERROR "Internal server error" */
  internal: () => new RestError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error'),
  /** @see settings/how-to-call-rest-api/batch.md "Possible Error Codes" */
  batchLength: () => new RestError(400, 'ERROR_BATCH_LENGTH_EXCEEDED', 'Max batch length exceeded'),
  /** @see settings/how-to-call-rest-api/batch.md: nested batch is refused */
  batchMethodNotAllowed: () =>
    new RestError(405, 'ERROR_BATCH_METHOD_NOT_ALLOWED', 'Method is not allowed for batch usage'),
  /**
   * CRM field/argument errors: HTTP 400 with an empty code and a readable description.
   * @see api-reference/crm/leads/crm-lead-add.md "Error Handling" (error "")
   */
  crm: (description: string) => new RestError(400, '', description),
  /**
   * A record that does not exist, where the docs give the code (the error section's status is 400).
   * @see api-reference/crm/leads/userfield/crm-lead-userfield-get.md
   */
  notFound: (description: string) => new RestError(400, 'ERROR_NOT_FOUND', description),
  /** @see api-reference/widgets/placement-unbind.md: 403 ACCESS_DENIED "Access denied!" */
  accessDenied: (description = 'Access denied!') => new RestError(403, 'ACCESS_DENIED', description),
  /** @see api-reference/widgets/placement-bind.md: ERROR_ARGUMENT with `argument` */
  argument: (name: string) =>
    new RestError(400, 'ERROR_ARGUMENT', `Argument '${name}' is null or empty`, { argument: name }),
  /** Duplicate event.bind / placement.bind: the table's "Handler already binded" as ERROR_CORE. */
  core: (description: string) => new RestError(400, 'ERROR_CORE', description),
  /** @see api-reference/events/event-bind.md: 400 ERROR_EVENT_NOT_FOUND "Event not found" */
  eventNotFound: () => new RestError(400, 'ERROR_EVENT_NOT_FOUND', 'Event not found'),
  /** @see api-reference/widgets/crm/index.md: ERROR_PLACEMENT_NOT_FOUND (unknown code or scope) */
  placementNotFound: () => new RestError(400, 'ERROR_PLACEMENT_NOT_FOUND', 'Placement not found'),
  /** @see api-reference/widgets/placement-bind.md: second handler of a single-handler placement */
  placementMaxCount: () => new RestError(400, 'ERROR_PLACEMENT_MAX_COUNT', 'Placement max count exceeded'),
  /** @see api-reference/events/event-bind.md: 403 ACCESS_DENIED texts */
  eventAdminOnly: (what: string) =>
    new RestError(403, 'ACCESS_DENIED', `Access denied! ${what} requires administrator access rights`),
  /** @see api-reference/common/system/app-info.md */
  applicationContext: () => new RestError(400, 'ACCESS_DENIED', 'Access denied! Application context required'),
  /**
   * im.notify.system.add's own codes, with the texts of its error table.
   * @see api-reference/chats/notifications/im-notify-system-add.md "Possible Error Codes"
   */
  notify: (code: 'USER_ID_EMPTY' | 'MESSAGE_EMPTY' | 'ATTACH_OVERSIZE' | 'ATTACH_ERROR') =>
    new RestError(400, code, NOTIFY_ERROR_TEXT[code]),
  /**
   * crm.activity.todo.* codes; the texts are the table's descriptions (its example shows
   * NOT_FOUND "Not found.").
   * @see api-reference/crm/timeline/activities/todo/crm-activity-todo-add.md "Possible Error Codes"
   */
  todo: (code: '100' | 'NOT_FOUND' | 'OWNER_NOT_FOUND' | 'WRONG_DATETIME_FORMAT', detail?: string) =>
    new RestError(400, code, detail ?? TODO_ERROR_TEXT[code]),
} as const

const NOTIFY_ERROR_TEXT = {
  USER_ID_EMPTY: "User ID can't be empty",
  MESSAGE_EMPTY: "Message can't be empty",
  ATTACH_OVERSIZE: 'You have exceeded the maximum allowable size of attach',
  ATTACH_ERROR: 'Incorrect attach params',
} as const

const TODO_ERROR_TEXT = {
  '100': 'Required fields are missing',
  NOT_FOUND: 'Not found.',
  OWNER_NOT_FOUND: 'Owner of the entity not found',
  WRONG_DATETIME_FORMAT: 'Incorrect date format',
} as const
