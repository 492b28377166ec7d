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
 * semantic follows the portal's stage directory (the stage's SEMANTICS letter), DATE_MODIFY is
 * now, and so are MOVED_TIME and MOVED_BY_ID if the stage is another ("the date the item was
 * moved to the current stage": a save at the same stage moves nothing), ONCRM…UPDATE goes to
 * online handlers and into the offline queue.
 * @see api-reference/crm/leads/crm-lead-fields.md (MOVED_TIME, MOVED_BY_ID)
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
  const moved = record[kind === 'lead' ? 'STATUS_ID' : 'STAGE_ID'] !== stageId
  if (kind === 'lead') {
    record['STATUS_ID'] = stageId
    record['STATUS_SEMANTIC_ID'] = letter
  } else {
    record['STAGE_ID'] = stageId
    record['STAGE_SEMANTIC_ID'] = letter
    record['CLOSED'] = letter === 'P' ? 'N' : 'Y'
  }
  if (moved) {
    record['MOVED_BY_ID'] = String(userId)
    record['MOVED_TIME'] = at
  }
  record['MODIFY_BY_ID'] = String(userId)
  record['DATE_MODIFY'] = at
  raise(ctx, portal, kind === 'lead' ? 'ONCRMLEADUPDATE' : 'ONCRMDEALUPDATE', id, userId)
}

/**
 * A person edits a lead's or a deal's fields in its card without moving it (a title, a comment):
 * DATE_MODIFY and MODIFY_BY_ID change, the stage and MOVED_TIME stay, and ONCRM…UPDATE goes
 * online and into the offline queue like any update. The stage fields are moveEntity's.
 * @see api-reference/crm/leads/events/on-crm-lead-update.md, api-reference/crm/deals/events/on-crm-deal-update.md
 */
export function editEntity(
  ctx: EmulatorContext,
  portal: PortalState,
  kind: 'lead' | 'deal',
  id: number,
  fields: Record<string, string>,
  userId = portal.installerUserId,
): void {
  const store = kind === 'lead' ? portal.leads : portal.deals
  const record = store.get(id)
  if (!record) throw new Error(`b24 emulator: no ${kind} ${id} on portal ${portal.memberId}`)
  const stageFields = /^(STATUS_ID|STATUS_SEMANTIC_ID|STAGE_ID|STAGE_SEMANTIC_ID|MOVED_TIME|MOVED_BY_ID|ID)$/
  const bad = Object.keys(fields).find((f) => stageFields.test(f))
  if (bad) throw new Error(`b24 emulator: ${bad} is not edited in place; move the ${kind} instead`)
  actor(portal, userId)
  Object.assign(record, fields)
  record['MODIFY_BY_ID'] = String(userId)
  record['DATE_MODIFY'] = isoDate(ctx.now())
  raise(ctx, portal, kind === 'lead' ? 'ONCRMLEADUPDATE' : 'ONCRMDEALUPDATE', id, userId)
}

/**
 * A person logs a call they made in a record's timeline (ownerTypeId 1 lead, 2 deal, 3 contact):
 * an activity TYPE_ID 2 (VOXIMPLANT_CALL / CALL) added completed, its START_TIME and END_TIME
 * the call's (`startedAt`, `endedAt`: ms, both before now), authored by them; ONCRMACTIVITYADD
 * goes online and into the offline queue. Answers the activity's id.
 * @see api-reference/crm/timeline/activities/activity-base/crm-activity-add.md (END_TIME "Activity completion time")
 * @see api-reference/crm/timeline/activities/activity-base/crm-activity-get.md (a completed call)
 * @see api-reference/crm/timeline/activities/events/on-crm-activity-add.md
 */
export function logCall(
  ctx: EmulatorContext,
  portal: PortalState,
  input: { ownerTypeId: number; ownerId: number; startedAt: number; endedAt: number; subject?: string },
  userId = portal.installerUserId,
): number {
  const owners: Record<number, Map<number, Record<string, unknown>>> = {
    1: portal.leads,
    2: portal.deals,
    3: portal.contacts,
  }
  if (!owners[input.ownerTypeId]?.has(input.ownerId))
    throw new Error(`b24 emulator: no record ${input.ownerTypeId}/${input.ownerId} on portal ${portal.memberId}`)
  const now = ctx.now()
  if (!(input.startedAt <= input.endedAt && input.endedAt <= now))
    throw new Error('b24 emulator: a logged call starts before it ends, and ends before now')
  actor(portal, userId)
  const id = portal.nextId('activity')
  portal.todos.set(id, {
    id,
    kind: 'call',
    callStart: input.startedAt,
    callEnd: input.endedAt,
    ownerTypeId: input.ownerTypeId,
    ownerId: input.ownerId,
    deadline: input.startedAt,
    title: input.subject ?? 'Outgoing call',
    description: '',
    responsibleId: userId,
    pingOffsets: [],
    colorId: null,
    parentActivityId: null,
    authorId: userId,
    editorId: userId,
    createdAt: now,
    updatedAt: now,
    completed: true,
    completedAt: input.endedAt,
    completedBy: userId,
  })
  raise(ctx, portal, 'ONCRMACTIVITYADD', id, userId)
  return id
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
