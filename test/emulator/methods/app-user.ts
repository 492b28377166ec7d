/**
 * app.info, scope, profile, user.admin, user.current, user.get.
 *
 * There is no REST method that lists a portal's administrators: user.get has no ADMIN filter
 * (its answer carries no ADMIN field either), and only the calling user's own rights are
 * readable (user.admin, profile's ADMIN). An app that must reach the admins remembers those it
 * has seen: the installing user (settings/app-installation/index.md: installed by a user with
 * administrator rights) and any user whose user.admin / profile said so.
 * @see api-reference/user/user-get.md, api-reference/common/users/user-admin.md
 */
import { appVersionOf } from '../lifecycle.js'
import { isPlainObject } from '../php-query.js'
import type { PortalState } from '../state.js'
import type { PortalUser } from '../types/crm.js'
import { PAGE_SIZE } from './crm-entity-spec.js'
import { matchesFilter } from './crm-filter.js'
import { param, toInt, type CallContext, type MethodResult, type MethodTable } from './registry.js'

const LICENSE: Record<PortalState['plan'], { type: string; family: string }> = {
  free: { type: 'project', family: 'project' },
  pro: { type: 'pro100', family: 'pro' },
  enterprise: { type: 'ent250', family: 'ent' },
}

/**
 * INSTALLED stays false until the install page calls installFinish().
 * @see api-reference/common/system/app-info.md
 * @see settings/app-installation/installation-finish.md
 */
export function appInfo(portal: PortalState, clientId: string): Record<string, unknown> {
  const license = LICENSE[portal.plan]
  return {
    ID: 1,
    CODE: clientId,
    // The version installed now: updateApp() changes it. @see api-reference/common/system/app-info.md
    VERSION: appVersionOf(portal),
    STATUS: portal.appStatus,
    INSTALLED: portal.installed,
    PAYMENT_EXPIRED: 'N',
    DAYS: null,
    LANGUAGE_ID: portal.lang,
    LICENSE: `${portal.lang}_${license.type}`,
    LICENSE_TYPE: license.type,
    LICENSE_FAMILY: license.family,
  }
}

/** @see api-reference/common/users/profile.md (an inactive user gets an empty object) */
function profile(ctx: CallContext): MethodResult {
  const user = ctx.portal.user(ctx.userId)
  if (!user || !user.ACTIVE) return { result: {} }
  return {
    result: {
      ID: String(user.ID),
      ADMIN: user.ADMIN,
      NAME: user.NAME,
      LAST_NAME: user.LAST_NAME,
      PERSONAL_GENDER: '',
      TIME_ZONE: '',
    },
  }
}

function userRow(user: PortalUser): Record<string, unknown> {
  return {
    ID: String(user.ID),
    ACTIVE: user.ACTIVE,
    NAME: user.NAME,
    LAST_NAME: user.LAST_NAME,
    EMAIL: user.EMAIL,
    PERSONAL_GENDER: '',
    PERSONAL_BIRTHDAY: '',
    WORK_POSITION: '',
    UF_DEPARTMENT: [1],
    USER_TYPE: 'employee',
  }
}

/** @see api-reference/user/user-current.md */
function userCurrent(ctx: CallContext): MethodResult {
  const user = ctx.portal.user(ctx.userId)
  return { result: user ? userRow(user) : {} }
}

/**
 * Filter keys come in `FILTER`/`filter` or at the top level (`ID=2`); `ACTIVE` true keeps only
 * active users.
 * @see api-reference/user/user-get.md
 */
function userGet(ctx: CallContext): MethodResult {
  const nested = param(ctx.params, 'filter')
  const filter: Record<string, unknown> = isPlainObject(nested) ? { ...nested } : {}
  for (const [key, value] of Object.entries(ctx.params)) {
    // auth_connector is a request parameter of every call (offline events' source key), not a filter.
    if (!['filter', 'FILTER', 'sort', 'order', 'start', 'select', 'ADMIN_MODE', 'auth', 'auth_connector'].includes(key))
      filter[key] = value
  }
  if (filter['ACTIVE'] !== undefined) {
    filter['ACTIVE'] = ['true', '1', 'Y', true, 1].includes(filter['ACTIVE'] as string) ? 'true' : 'false'
  }
  const rows = ctx.portal.users
    .map((u) => ({ user: u, row: userRow(u) }))
    .filter(({ row }) => matchesFilter(row, filter))
  const start = Math.max(0, toInt(param(ctx.params, 'start')) ?? 0)
  const page = rows.slice(start, start + PAGE_SIZE).map(({ row }) => row)
  const hasNext = start + PAGE_SIZE < rows.length
  return { result: page, total: rows.length, ...(hasNext ? { next: start + PAGE_SIZE } : {}) }
}

export const appUserMethods: MethodTable = {
  'app.info': { scope: null, handler: (ctx) => ({ result: appInfo(ctx.portal, ctx.env.clientId) }) },
  scope: { scope: null, handler: (ctx) => ({ result: [...ctx.scopes].filter((s) => s !== 'basic') }) },
  'server.time': {
    scope: null,
    handler: (ctx) => ({ result: new Date(ctx.env.now()).toISOString().replace(/\.\d{3}Z$/, '+00:00') }),
  },
  profile: { scope: null, handler: profile },
  /** Whether the calling user may manage the app's settings. @see api-reference/common/users/user-admin.md */
  'user.admin': { scope: null, handler: (ctx) => ({ result: ctx.portal.user(ctx.userId)?.ADMIN === true }) },
  'user.current': { scope: ['user', 'user_brief', 'user_basic'], handler: userCurrent },
  'user.get': { scope: ['user', 'user_brief', 'user_basic'], handler: userGet },
}
