/**
 * placement.bind / placement.unbind / placement.get.
 *
 * Binding needs an administrator; the code must be one the app's scopes allow (else
 * ERROR_PLACEMENT_NOT_FOUND); the same PLACEMENT + HANDLER twice is refused with "Handler
 * already binded" (the portal's PlacementTable uniqueness check).
 * @see api-reference/widgets/placement-bind.md, placement-unbind.md, placement-get.md
 * @see api-reference/widgets/crm/index.md (ERROR_PLACEMENT_NOT_FOUND: wrong code or no crm scope)
 */
import { checkHandlerUrl } from './handler-url.js'
import { isPlainObject } from '../php-query.js'
import { restErrors } from '../rest-error.js'
import type { PlacementBinding } from '../types/crm.js'
import type { CallContext, MethodResult, MethodTable } from './registry.js'

const CRM_ENTITY = '(LEAD|DEAL|CONTACT|COMPANY|QUOTE|SMART_INVOICE|DYNAMIC_\\d+)'
const CRM_SLOT =
  '(DETAIL_TAB|DETAIL_TOOLBAR|DETAIL_ACTIVITY|LIST_MENU|LIST_TOOLBAR|DOCUMENTGENERATOR_BUTTON|ROBOT_DESIGNER_TOOLBAR|ACTIVITY_TIMELINE_MENU)'

const PLACEMENT_SCOPES: Array<[RegExp, string | null]> = [
  [new RegExp(`^CRM_${CRM_ENTITY}_${CRM_SLOT}$`), 'crm'],
  [
    /^CRM_(ANALYTICS_MENU|ANALYTICS_TOOLBAR|FUNNELS_TOOLBAR|DETAIL_SEARCH|REQUISITE_AUTOCOMPLETE|BANK_DETAIL_AUTOCOMPLETE)$/,
    'crm',
  ],
  [/^CRM_DYNAMIC_\d+_FUNNELS_TOOLBAR$/, 'crm'],
  [/^(LEFT_MENU|REST_APP_URI|PAGE_BACKGROUND_WORKER|USER_PROFILE_MENU|USER_PROFILE_TOOLBAR)$/, null],
  [/^TASK_/, 'task'],
  [/^(IM_|IMMOBILE_)/, 'im'],
  [/^(CALL_CARD|TELEPHONY_)/, 'telephony'],
  [/^CALENDAR_/, 'calendar'],
  [/^SONET_GROUP_/, 'sonet_group'],
  [/^CONTACT_CENTER$/, 'contact_center'],
  [/^BI_ANALYTICS_MENU$/, 'biconnector'],
  [/^SETTING_CONNECTOR$/, 'imopenlines'],
]

/** Placements that take one handler only. @see api-reference/widgets/placement-bind.md */
const SINGLE = new Set(['REST_APP_URI', 'PAGE_BACKGROUND_WORKER'])

function upperParams(ctx: CallContext): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(ctx.params)) out[k.toUpperCase()] = v
  return out
}

function requireAdmin(ctx: CallContext): void {
  if (!ctx.portal.user(ctx.userId)?.ADMIN) throw restErrors.accessDenied()
}

function requireString(params: Record<string, unknown>, name: string): string {
  const value = params[name]
  if (typeof value !== 'string' || value.trim() === '') throw restErrors.argument(name)
  return value.trim()
}

function allowed(ctx: CallContext, code: string): boolean {
  for (const [pattern, scope] of PLACEMENT_SCOPES) {
    if (pattern.test(code)) return scope === null || ctx.scopes.has(scope)
  }
  return false
}

function bind(ctx: CallContext): MethodResult {
  requireAdmin(ctx)
  const p = upperParams(ctx)
  const code = requireString(p, 'PLACEMENT').toUpperCase()
  const handler = requireString(p, 'HANDLER')
  if (!allowed(ctx, code)) throw restErrors.placementNotFound()
  checkHandlerUrl(handler)
  const existing = ctx.portal.placements.filter((b) => b.PLACEMENT === code)
  if (SINGLE.has(code) && existing.length > 0) {
    throw restErrors.placementMaxCount()
  }
  if (existing.some((b) => b.HANDLER === handler)) {
    throw restErrors.core('Unable to set placement handler: Handler already binded')
  }
  const binding: PlacementBinding = {
    PLACEMENT: code,
    HANDLER: handler,
    TITLE: typeof p['TITLE'] === 'string' ? p['TITLE'] : '',
    DESCRIPTION: typeof p['DESCRIPTION'] === 'string' ? p['DESCRIPTION'] : '',
    ...(isPlainObject(p['LANG_ALL']) ? { LANG_ALL: p['LANG_ALL'] } : {}),
    ...(isPlainObject(p['OPTIONS']) ? { OPTIONS: p['OPTIONS'] } : {}),
  }
  ctx.portal.placements.push(binding)
  return { result: true }
}

/** `count` grows by 1 per found handler and by 1 per removal, as documented. */
function unbind(ctx: CallContext): MethodResult {
  requireAdmin(ctx)
  const p = upperParams(ctx)
  const code = requireString(p, 'PLACEMENT').toUpperCase()
  const handler = typeof p['HANDLER'] === 'string' && p['HANDLER'] !== '' ? p['HANDLER'] : undefined
  const before = ctx.portal.placements.length
  ctx.portal.placements = ctx.portal.placements.filter(
    (b) => !(b.PLACEMENT === code && (handler === undefined || b.HANDLER === handler)),
  )
  const removed = before - ctx.portal.placements.length
  return { result: { count: removed * 2 } }
}

function get(ctx: CallContext): MethodResult {
  return {
    result: ctx.portal.placements.map((b) => ({
      placement: b.PLACEMENT,
      userId: 0,
      handler: b.HANDLER,
      options: b.OPTIONS ?? [],
      title: b.TITLE,
      description: b.DESCRIPTION ?? '',
      langAll: b.LANG_ALL ?? {},
    })),
  }
}

export const placementMethods: MethodTable = {
  'placement.bind': { scope: 'placement', handler: bind },
  'placement.unbind': { scope: 'placement', handler: unbind },
  'placement.get': { scope: 'placement', handler: get },
  'placement.list': {
    scope: 'placement',
    handler: (ctx) => {
      const codes = ['LEFT_MENU', 'REST_APP_URI', 'PAGE_BACKGROUND_WORKER', 'USER_PROFILE_MENU', 'USER_PROFILE_TOOLBAR']
      if (ctx.scopes.has('crm')) {
        for (const entity of ['LEAD', 'DEAL', 'CONTACT', 'COMPANY']) {
          for (const slot of ['DETAIL_TAB', 'DETAIL_TOOLBAR', 'DETAIL_ACTIVITY', 'LIST_MENU', 'LIST_TOOLBAR']) {
            codes.push(`CRM_${entity}_${slot}`)
          }
        }
        codes.push('CRM_ANALYTICS_MENU')
      }
      return { result: codes }
    },
  },
}
