/**
 * A CRM card's tab (CRM_LEAD_DETAIL_TAB, CRM_DEAL_DETAIL_TAB): what a portal does when a user
 * opens a lead or deal card and clicks the app's tab.
 *
 * - The tab exists only where the app bound it (placement.bind) and only once the install is
 *   finished: "The widget is not displayed in the interface until the application installation
 *   is complete". It is in the card of an existing object, so the object must exist.
 * - The handler gets the same POST as any placement (AUTH_ID … member_id, status, PLACEMENT in
 *   the body; DOMAIN, PROTOCOL, LANG, APP_SID in the query), with PLACEMENT_OPTIONS the JSON
 *   string `{"ID":"8061","URI":"/crm/deal/details/8061/?any=details%2F8061%2F&IFRAME=Y&IFRAME_TYPE=SIDE_SLIDER"}`:
 *   the object's id as a string, and no separate type key (the PLACEMENT code says the type).
 * @see api-reference/widgets/crm/detail-tab.md ("What the Handler Receives", PLACEMENT_OPTIONS)
 * @see api-reference/widgets/placement-bind.md
 */
import type { EmulatorContext } from './context.js'
import { openPlacement } from './lifecycle.js'
import type { PortalState } from './state.js'
import type { DetailTabEntity, OpenDetailTabInput } from './types/emulator.js'
import type { HttpReply } from './types/records.js'

/** The placement code of an entity's card tab. */
export function detailTabCode(entity: DetailTabEntity): string {
  return `CRM_${entity.toUpperCase()}_DETAIL_TAB`
}

/** PLACEMENT_OPTIONS of a card tab, as the portal sends them (the id is a string). */
export function detailTabOptions(entity: DetailTabEntity, id: number): { ID: string; URI: string } {
  return {
    ID: String(id),
    URI: `/crm/${entity}/details/${id}/?any=details%2F${id}%2F&IFRAME=Y&IFRAME_TYPE=SIDE_SLIDER`,
  }
}

/**
 * Opens the app's tab in a lead or deal card: the POST goes to the handler the app bound for that
 * card's tab. Throws, as the portal would show no such tab, when the app is not installed (or not
 * finished), bound no handler there, or the record does not exist.
 */
export async function openDetailTab(
  ctx: EmulatorContext,
  portal: PortalState,
  input: OpenDetailTabInput,
): Promise<HttpReply> {
  const code = detailTabCode(input.entity)
  if (!portal.installed) throw new Error(`${code}: the app is not installed on ${portal.memberId}, so no tab is shown`)
  const bound = portal.placements.filter((b) => b.PLACEMENT === code)
  const binding = input.handler ? bound.find((b) => b.HANDLER === input.handler) : bound[0]
  if (!binding) throw new Error(`${code}: the app bound no handler${input.handler ? ` ${input.handler}` : ''} there`)
  const records = input.entity === 'lead' ? portal.leads : portal.deals
  if (!records.has(input.id)) throw new Error(`${code}: there is no ${input.entity} ${input.id} whose card could open`)
  return openPlacement(ctx, portal, {
    url: binding.HANDLER,
    placement: code,
    options: detailTabOptions(input.entity, input.id),
    userId: input.userId ?? 1,
  })
}
