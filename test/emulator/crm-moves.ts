/**
 * What a person does in the CRM that the app must notice: moving a lead or a deal to another
 * stage, completing a to-do. Each change is made as that user (their id in the record and in
 * the event's auth), and a person's change carries no source key, so it reaches every offline
 * queue, the app's own `auth_connector` queue included.
 */
import type { EmulatorContext } from './context.js'
import { emitEvent } from './event-delivery.js'
import { completeTodo } from './methods/crm-activity.js'
import { isoDate } from './methods/crm-entity-spec.js'
import { recordOfflineEvent } from './offline-queue.js'
import { semanticLetter, type PortalState } from './state.js'

function actor(portal: PortalState, userId: number): void {
  const user = portal.user(userId)
  if (!user || !user.ACTIVE) throw new Error(`b24 emulator: no active user ${userId} on portal ${portal.memberId}`)
}

function raise(ctx: EmulatorContext, portal: PortalState, event: string, id: number, userId: number): void {
  const data = { FIELDS: { ID: id } }
  emitEvent(ctx, portal, event, data, userId)
  recordOfflineEvent(portal, ctx.now(), event, data, '')
}

/**
 * A person moves a lead (STATUS_ID) or a deal (STAGE_ID) in the CRM: the record changes, its
 * semantic follows the portal's stage directory (the stage's SEMANTICS letter), DATE_MODIFY and
 * MOVED_TIME are now, ONCRM…UPDATE goes to online handlers and into the offline queue.
 * @see api-reference/crm/leads/crm-lead-update.md, api-reference/crm/deals/crm-deal-update.md
 * @see api-reference/crm/leads/events/on-crm-lead-update.md, api-reference/crm/deals/events/on-crm-deal-update.md
 */
export function moveEntity(
  ctx: EmulatorContext,
  portal: PortalState,
  kind: 'lead' | 'deal',
  id: number,
  stageId: string,
  userId = portal.installerUserId,
): void {
  const store = kind === 'lead' ? portal.leads : portal.deals
  const record = store.get(id)
  if (!record) throw new Error(`b24 emulator: no ${kind} ${id} on portal ${portal.memberId}`)
  const directory = kind === 'lead' ? 'STATUS' : 'DEAL_STAGE'
  const stage = portal.statusesOf(directory).find((s) => s.STATUS_ID === stageId)
  if (!stage) throw new Error(`b24 emulator: ${stageId} is not in ${directory}`)
  actor(portal, userId)
  const letter = semanticLetter(stage)
  const at = isoDate(ctx.now())
  if (kind === 'lead') {
    record['STATUS_ID'] = stageId
    record['STATUS_SEMANTIC_ID'] = letter
  } else {
    record['STAGE_ID'] = stageId
    record['STAGE_SEMANTIC_ID'] = letter
    record['CLOSED'] = letter === 'P' ? 'N' : 'Y'
  }
  record['MOVED_BY_ID'] = String(userId)
  record['MOVED_TIME'] = at
  record['MODIFY_BY_ID'] = String(userId)
  record['DATE_MODIFY'] = at
  raise(ctx, portal, kind === 'lead' ? 'ONCRMLEADUPDATE' : 'ONCRMDEALUPDATE', id, userId)
}

/**
 * A person marks a to-do done in the timeline: COMPLETED Y, ONCRMACTIVITYUPDATE.
 * @see api-reference/crm/timeline/activities/events/on-crm-activity-update.md
 */
export function completeActivity(
  ctx: EmulatorContext,
  portal: PortalState,
  id: number,
  userId = portal.installerUserId,
): void {
  const todo = portal.todos.get(id)
  if (!todo) throw new Error(`b24 emulator: no activity ${id} on portal ${portal.memberId}`)
  actor(portal, userId)
  completeTodo(todo, userId, ctx.now())
  raise(ctx, portal, 'ONCRMACTIVITYUPDATE', id, userId)
}
