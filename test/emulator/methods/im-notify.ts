/**
 * im.notify.system.add (scope `im`): a system notification to one user of the portal.
 *
 * - USER_ID missing or <= 0: USER_ID_EMPTY; MESSAGE empty after trimming: MESSAGE_EMPTY.
 * - ATTACH is an object or a JSON string: anything else (or a string that is not JSON) is
 *   ATTACH_ERROR, more than 60,000 characters ATTACH_OVERSIZE.
 * - The answer is the new notification's id, or `false` when none was created: here when the
 *   user is not an active user of the portal (the docs only say it "may return false").
 * - TAG is unique within the application: a notice with a TAG the app used before removes the
 *   earlier ones. The emulator removes them for the same user only (the docs do not say whether
 *   the tag is per user; an app that sends one alert to several admins should not rely on
 *   either reading, e.g. put the user id in the tag).
 * - CLIENT_ID and WRONG_AUTH_TYPE concern webhooks and session auth, which the emulator has not.
 * @see api-reference/chats/notifications/im-notify-system-add.md
 */
import { isPlainObject } from '../php-query.js'
import { restErrors } from '../rest-error.js'
import { param, toInt, type CallContext, type MethodResult, type MethodTable } from './registry.js'

const MAX_ATTACH_CHARS = 60_000

function optionalText(value: unknown): string | null {
  if (typeof value === 'string' && value.trim() !== '') return value
  if (typeof value === 'number') return String(value)
  return null
}

/** ATTACH as an object, or undefined without one. */
function readAttach(value: unknown): unknown {
  if (value === undefined || value === null || value === '') return undefined
  let parsed: unknown = value
  if (typeof value === 'string') {
    if (value.length > MAX_ATTACH_CHARS) throw restErrors.notify('ATTACH_OVERSIZE')
    try {
      parsed = JSON.parse(value)
    } catch {
      throw restErrors.notify('ATTACH_ERROR')
    }
  }
  if (!isPlainObject(parsed) && !Array.isArray(parsed)) throw restErrors.notify('ATTACH_ERROR')
  if (JSON.stringify(parsed).length > MAX_ATTACH_CHARS) throw restErrors.notify('ATTACH_OVERSIZE')
  return parsed
}

function systemAdd(ctx: CallContext): MethodResult {
  const userId = toInt(param(ctx.params, 'USER_ID'))
  if (userId === undefined || userId <= 0) throw restErrors.notify('USER_ID_EMPTY')
  const raw = param(ctx.params, 'MESSAGE')
  const message = typeof raw === 'string' || typeof raw === 'number' ? String(raw).trim() : ''
  if (message === '') throw restErrors.notify('MESSAGE_EMPTY')
  const attach = readAttach(param(ctx.params, 'ATTACH'))
  const user = ctx.portal.user(userId)
  if (!user || !user.ACTIVE) return { result: false }
  const tag = optionalText(param(ctx.params, 'TAG'))
  const clientId = ctx.env.clientId
  const notices = ctx.portal.notices
  if (tag !== null) {
    for (let i = notices.length - 1; i >= 0; i--) {
      const n = notices[i]
      if (n && n.tag === tag && n.clientId === clientId && n.userId === userId) notices.splice(i, 1)
    }
  }
  const id = ctx.portal.nextId('notification')
  notices.push({
    id,
    userId,
    message,
    messageOut: optionalText(param(ctx.params, 'MESSAGE_OUT')),
    tag,
    subTag: optionalText(param(ctx.params, 'SUB_TAG')),
    attach: attach ?? null,
    clientId,
    at: ctx.env.now(),
  })
  return { result: id }
}

export const imNotifyMethods: MethodTable = {
  'im.notify.system.add': { scope: 'im', handler: systemAdd },
}
