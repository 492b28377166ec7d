import type { Lead } from '../db/schema.js'
import { B24_ERR, type B24Error } from '../errors.js'
import { backoffDelay } from './backoff.js'
import type { LeadBatchSort } from './batch-results.js'
import type { PortalWorker } from './portal-worker.js'

/**
 * What a failed or partly answered batch does to its leads and to the portal's delivery: wait
 * (backoff, operating-limit reset, the portal's pause) or look the leads up before any resend.
 */

/** A whole request failed: sort by kind into resend later, look up first, wait for the portal, or fail. */
export async function handleBatchError(w: PortalWorker, rows: Lead[], e: B24Error, started = w.now()): Promise<void> {
  const ids = rows.map((r) => r.id)
  const reason = `${e.b24Code}: ${e.message}`
  w.log.warn({ code: e.b24Code, kind: e.kind, leads: ids.length }, 'batch failed')
  if (e.code === B24_ERR.OPERATING_LIMIT) {
    // The whole request refused by the operating limit: the outer batch is not counted, its
    // commands are, so it is the add method's budget that is spent.
    await operatingRefused(w, rows, w.addMethod)
    return
  }
  switch (e.kind) {
    case 'rate_limited':
      // Not executed by Bitrix24: safe to send again after a pause.
      await requeue(w, rows, reason)
      return
    case 'transient':
      // Not executed, and the portal's failure (could not connect, a 404 page), not the leads':
      // the portal's delivery pauses with the reason shown, the leads keep their place.
      w.portalFailed(e)
      await requeue(w, rows, reason)
      return
    case 'reauth_required':
    case 'not_installed':
      // Nothing was sent; the leads wait for the portal to be re-authorised (the client marks
      // it), with a backoff so a portal still marked active is not asked again at once.
      w.portalFailed(e)
      await requeue(w, rows, reason)
      return
    case 'outcome_unknown':
      w.portalFailed(e)
      // Bitrix24 may have created some of them: ask it (by ORIGIN_ID) before sending again.
      // Dated at the send start: the look-up waits until the batch can no longer be running.
      await requeueUnknown(w, ids, `${reason} (outcome unknown; will check Bitrix24 before re-sending)`, started)
      return
    case 'permanent':
      await w.ctx.leads.markFailed(
        rows.map((r) => ({ id: r.id, error: reason })),
        w.now(),
      )
  }
}

/**
 * An answered batch's leads that were not delivered: failed, back after a backoff, held by the
 * operating limit on `method`, or (not mentioned by the answer) looked up before any resend.
 */
export async function recordUndelivered(
  w: PortalWorker,
  sorted: Pick<LeadBatchSort, 'failed' | 'retry' | 'limited' | 'unknown'>,
  opts: { at: number; started: number; method: string; what: 'lead' | 'deal' },
): Promise<void> {
  await w.ctx.leads.markFailed(sorted.failed, opts.at)
  await requeue(w, sorted.retry, 'Bitrix24 asked to retry this lead later')
  if (sorted.limited.length) await operatingRefused(w, sorted.limited, opts.method)
  if (sorted.unknown.length)
    await requeueUnknown(
      w,
      sorted.unknown,
      `the batch answer did not mention this ${opts.what}; checking Bitrix24 before re-sending`,
      opts.started,
    )
}

/**
 * Leads whose outcome is unknown stay `sending`, dated at the send start, and are looked up once
 * the request can no longer be running (reconcile.ts).
 */
export async function requeueUnknown(w: PortalWorker, ids: number[], reason: string, started: number): Promise<void> {
  await w.ctx.leads.requeueUnknown(ids, reason, started)
  w.wakeAt(started + w.ctx.reconcileWait)
}

/**
 * Bitrix24's operating limit refused `method`: hold only that method for this portal until the
 * reset the last answer named (then each later one), and put the leads back for then without
 * counting an attempt: they were not run, and waiting is all that helps.
 */
export async function operatingRefused(w: PortalWorker, rows: Lead[], method: string): Promise<void> {
  const until = w.ctx.budget.refused(w.memberId, method)
  w.limited = { method, until }
  await w.ctx.leads.requeue(
    rows.map((r) => r.id),
    until,
    // Formats the reset time it was given; the clock is not read here.
    `Bitrix24 is limiting this app (OPERATION_TIME_LIMIT on ${method}); sending resumes at ${new Date(until).toISOString()}`,
    w.now(),
    { notAttempted: true },
  )
  w.log.warn({ method, leads: rows.length, until }, 'operating limit reached; method held until its reset')
  w.wakeAt(until)
}

/** Back to the queue after the backoff of the batch's most-tried lead (and not before the portal's pause ends). */
export async function requeue(w: PortalWorker, rows: Lead[], reason: string): Promise<void> {
  if (rows.length === 0) return
  const attempts = Math.max(...rows.map((r) => r.attempts))
  const at = Math.max(w.now() + backoffDelay(attempts, w.ctx.options.backoff), w.pause?.until ?? 0)
  await w.ctx.leads.requeue(
    rows.map((r) => r.id),
    at,
    `${reason} (attempt ${attempts}; next try in ${Math.round((at - w.now()) / 1000)} s)`,
    w.now(),
  )
  w.wakeAt(at)
}
