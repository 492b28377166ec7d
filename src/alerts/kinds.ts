/**
 * The health alerts the app sends inside Bitrix24 (im.notify.system.add to the portal's
 * administrators). Each kind has its own TAG per user: a repeated alert replaces that user's last
 * one of the kind, and kinds (and users) never erase each other's.
 * @see https://apidocs.bitrix24.com/api-reference/chats/notifications/im-notify-system-add.html
 */
export const ALERT_KINDS = ['tiktok_lost', 'leads_failing', 'lead_silence'] as const
export type AlertKind = (typeof ALERT_KINDS)[number]

/** Not an alert: the row that remembers im.notify.system.add was refused for want of the `im` scope. */
export const IM_REFUSED = 'im_refused'

/** While a condition lasts, its alert is sent again at most this often. */
export const REPEAT_MS = 24 * 3_600_000

/** How often the periodic check runs (the app's clock). */
export const CHECK_EVERY_MS = 60_000

export function alertTag(kind: AlertKind, userId: number): string {
  return `tiktok-leads:${kind}:${userId}`
}

/** Whether a stored scope (the OAuth answer's, comma-separated) grants `im`. */
export function hasImScope(scope: string): boolean {
  return scope
    .split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase())
    .includes('im')
}

/**
 * Leads failing alert at once, not at the next check: a burst is one evaluation, run once no lead
 * failed for FAILED_QUIET_MS, and at the latest FAILED_MAX_WAIT_MS after its first failure.
 */
export const FAILED_QUIET_MS = 2_000
export const FAILED_MAX_WAIT_MS = 15_000
