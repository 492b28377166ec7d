/**
 * The lead times the tab and the analytics show, as SQL over the leads table, and the one rule for
 * their medians: SQLite's median() (the percentile extension compiled into better-sqlite3's
 * SQLite: `select median(x)`), which skips nulls and averages the two middle values of an even
 * count. Every median of a lead time is taken with it; nothing picks a middle row by offset.
 * @see https://sqlite.org/percentile.html
 */

/** Received → delivered (ms). */
export const DELIVERY_MS = 'done_at - received_at'

/**
 * Delivered → first contact (ms): first_contact_at is the first stage change or completed
 * activity after delivery (migrations 0011, 0015); a stage read stamped before done_at (the
 * portal's clock ahead of ours) counts as 0, not as a negative time. Null while nobody has worked
 * the lead.
 */
export const FIRST_CONTACT_MS = 'max(first_contact_at - done_at, 0)'
