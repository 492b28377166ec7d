import { sql } from 'kysely'

/**
 * Written as SQL literals, not bound parameters: only then can SQLite see that a query matches the
 * partial indexes (leads_due, leads_sending) and use them, instead of sorting every pending lead.
 */
export const isPending = sql<boolean>`status in ('received', 'queued')`
export const isSending = sql<boolean>`status = 'sending'`
