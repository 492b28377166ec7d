import type SQLite from 'better-sqlite3'
import type { LeadStatus } from '../db/schema.js'

export const LEAD_STATUSES: readonly LeadStatus[] = [
  'received',
  'queued',
  'sending',
  'delivered',
  'duplicate',
  'failed',
]

export type StatusCountsRecord = Record<LeadStatus, number>

const zero = (): StatusCountsRecord => ({ received: 0, queued: 0, sending: 0, delivered: 0, duplicate: 0, failed: 0 })

/**
 * Leads per portal and status, kept in memory as the lead repository changes them: /metrics reads
 * this instead of counting the table on every scrape. Seeded by one grouped count at start; after
 * that each write that changes statuses reports how many rows moved from which status to which
 * (it knows: its own RETURNING rows or the counts SQLite gives back), so no write adds a query.
 *
 * When a write cannot tell where rows came from (a lead that was not `sending` when marked done,
 * a portal purged by a CLEAN uninstall, a count that would go below zero), that portal is marked
 * stale and re-counted alone, off the hot path: in a later macrotask, once no lead write is in
 * flight, with one synchronous covering-index read (leads_member_status). Synchronous and only
 * while nothing is in flight, so no write can be both in the re-count and applied again on top.
 */
export class LeadCounts {
  readonly #byPortal = new Map<string, StatusCountsRecord>()
  readonly #stale = new Set<string>()
  #inFlight = 0
  #scheduled = false
  #countAll: SQLite.Statement<[], { member_id: string; status: LeadStatus; n: number }> | null = null
  #countPortal: SQLite.Statement<[string], { status: LeadStatus; n: number }> | null = null

  constructor(private readonly sqlite: SQLite.Database) {}

  /** The one grouped count, at start (before the app takes any write). */
  seed(): void {
    this.#countAll ??= this.sqlite.prepare(
      'select member_id, status, count(*) as n from leads group by member_id, status',
    )
    this.#byPortal.clear()
    for (const r of this.#countAll.all()) this.#record(r.member_id)[r.status] = Number(r.n)
  }

  /** Run one lead write: recounts wait until no write is between its statement and its report. */
  async track<T>(fn: () => Promise<T>): Promise<T> {
    this.#inFlight++
    try {
      return await fn()
    } finally {
      this.#inFlight--
      if (this.#inFlight === 0 && this.#stale.size) this.#schedule()
    }
  }

  /** `n` new rows in `status` (inserts). */
  add(memberId: string, status: LeadStatus, n: number): void {
    if (n > 0) this.#record(memberId)[status] += n
  }

  /** `n` rows of the portal moved from `from` to `to`. */
  move(memberId: string, from: LeadStatus, to: LeadStatus, n: number): void {
    if (n <= 0 || from === to) return
    const rec = this.#record(memberId)
    if (rec[from] < n) {
      // Something wrote statuses behind the repository's back: trust the table, not the sum.
      rec[from] = 0
      this.stale(memberId)
    } else rec[from] -= n
    rec[to] += n
  }

  /** Rows of the portal changed from an unknown status: re-count it soon, off the hot path. */
  stale(memberId: string): void {
    this.#stale.add(memberId)
    if (this.#inFlight === 0) this.#schedule()
  }

  /** Portals with their counts (a portal appears once it has had a lead; all six statuses each). */
  entries(): IterableIterator<[string, Readonly<StatusCountsRecord>]> {
    return this.#byPortal.entries()
  }

  get(memberId: string): Readonly<StatusCountsRecord> | undefined {
    return this.#byPortal.get(memberId)
  }

  /** Re-counts still waiting (tests wait for none). */
  get pendingRecounts(): number {
    return this.#stale.size
  }

  #record(memberId: string): StatusCountsRecord {
    let rec = this.#byPortal.get(memberId)
    if (!rec) {
      rec = zero()
      this.#byPortal.set(memberId, rec)
    }
    return rec
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      this.#recountStale()
    })
  }

  #recountStale(): void {
    // A write is between its statement and its report: it reschedules us when it is done.
    if (this.#inFlight > 0) return
    for (const memberId of this.#stale) {
      this.#stale.delete(memberId)
      let rows: Array<{ status: LeadStatus; n: number }>
      try {
        this.#countPortal ??= this.sqlite.prepare(
          'select status, count(*) as n from leads where member_id = ? group by status',
        )
        rows = this.#countPortal.all(memberId)
      } catch {
        // The database is locked or closing: try again with the next write.
        this.#stale.add(memberId)
        return
      }
      if (rows.length === 0) {
        // No lead left (a CLEAN uninstall purged them): the portal's series go.
        this.#byPortal.delete(memberId)
        continue
      }
      const rec = zero()
      for (const r of rows) rec[r.status] = Number(r.n)
      this.#byPortal.set(memberId, rec)
    }
  }
}
