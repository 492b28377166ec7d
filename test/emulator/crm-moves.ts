/** What a person does in the CRM that the app must notice: moving a lead or a deal to another stage. */
import type { EmulatorContext } from './context.js'
import { emitEvent } from './event-delivery.js'
import { isoDate } from './methods/crm-entity-spec.js'
import { recordOfflineEvent } from './offline-queue.js'
import type { PortalState } from './state.js'

/**
 * A person moves a lead (STATUS_ID) or a deal (STAGE_ID) in the CRM: the record changes, its
 * semantic follows the portal's stage directory, ONCRM…UPDATE goes to online handlers and
 * into the offline queue (a person's change carries no source key).
 * @see api-reference/crm/leads/crm-lead-update.md, api-reference/crm/deals/crm-deal-update.md
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
  const semantics = stage.EXTRA?.SEMANTICS
  const letter = semantics === 'success' ? 'S' : semantics === 'failure' ? 'F' : 'P'
  const now = ctx.now()
  const at = isoDate(now)
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
  const event = kind === 'lead' ? 'ONCRMLEADUPDATE' : 'ONCRMDEALUPDATE'
  const data = { FIELDS: { ID: id } }
  emitEvent(ctx, portal, event, data, userId)
  recordOfflineEvent(portal, now, event, data, '')
}
