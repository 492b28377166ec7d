import { classifyCommandError, type CommandError } from '../bitrix24/classify.js'
import type { BatchResult } from '../bitrix24/schemas.js'
import type { Lead } from '../db/schema.js'
import type { ExtrasOutcome } from '../db/repositories/settings.js'
import type { ExtraKeys, LeadCommand } from './lead-commands.js'
import { operatingOf, type OperatingTime } from './operating.js'
import type { SimplePlan } from './simple-mode.js'

/**
 * A batch answer sorted into what happens to each lead, without touching anything: the worker
 * records the sort (portal-worker.ts), and these are tested on their own. Only a command's own
 * `result`/`result_error` entry decides its lead, so one refused lead never holds back the rest.
 * @see https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html
 */

export interface LeadBatchSort {
  delivered: Array<{ id: number; b24LeadId: number }>
  /** `update` dedup policy: the existing lead that was written to */
  updated: Array<{ id: number; b24LeadId: number; duplicateOf: string }>
  failed: Array<{ id: number; error: string }>
  /** worth sending again after a backoff */
  retry: Lead[]
  /** held by the operating limit: sent again at its reset, not counted as an attempt */
  limited: Lead[]
  /** the answer does not say: looked up by ORIGIN_ID before anything is sent again */
  unknown: number[]
}

type Answer = Pick<BatchResult, 'result' | 'result_error'>

const resultsOf = (res: Answer) => res.result as Record<string, unknown>
const errorsOf = (res: Answer) => res.result_error as Record<string, CommandError>

/** Classic mode: each `crm.lead.add` / `crm.lead.update` command's outcome. */
export function sortLeadBatch(commands: LeadCommand[], res: Answer): LeadBatchSort {
  const out: LeadBatchSort = { delivered: [], updated: [], failed: [], retry: [], limited: [], unknown: [] }
  const results = resultsOf(res)
  const errors = errorsOf(res)
  for (const cmd of commands) {
    const value = results[cmd.key]
    const err = errors[cmd.key]
    const sorted = err ? classifyCommandError(err) : null
    if (sorted?.kind === 'limited') out.limited.push(cmd.row)
    else if (cmd.updates && (value === true || value === 'true' || value === 1))
      out.updated.push({
        id: cmd.row.id,
        b24LeadId: cmd.updates.leadId,
        duplicateOf: `updated ${cmd.updates.duplicateOf}`,
      })
    else if (!cmd.updates && Number.isInteger(Number(value)) && Number(value) > 0)
      out.delivered.push({ id: cmd.row.id, b24LeadId: Number(value) })
    else if (sorted?.kind === 'retry') out.retry.push(cmd.row)
    else if (sorted?.kind === 'failed') out.failed.push({ id: cmd.row.id, error: sorted.error })
    else out.unknown.push(cmd.row.id)
  }
  return out
}

export type SimpleOutcome =
  | { kind: 'delivered'; dealId: number; contactId: number | null }
  /** the deal was not made; `contactId` is the contact that was (reused by the next attempt) */
  | { kind: 'limited' | 'retry' | 'unknown'; contactId: number | null }
  | { kind: 'failed'; contactId: number | null; error: string }

function itemId(value: unknown): number | null {
  const id = Number((value as { item?: { id?: unknown } } | undefined)?.item?.id)
  return Number.isInteger(id) && id > 0 ? id : null
}

/** Simple mode: each lead's outcome, decided by its deal command (a deal made is a lead delivered). */
export function readSimpleBatch(plans: SimplePlan[], res: Answer): Map<number, SimpleOutcome> {
  const results = resultsOf(res)
  const errors = errorsOf(res)
  const out = new Map<number, SimpleOutcome>()
  for (const plan of plans) {
    const ownKey = plan.contactKey ?? plan.sharesContactOf
    const contactId = plan.contactId ?? (ownKey ? itemId(results[ownKey]) : null)
    const dealId = itemId(results[plan.dealKey])
    const err = errors[plan.dealKey]
    if (dealId !== null) {
      out.set(plan.row.id, { kind: 'delivered', dealId, contactId })
      continue
    }
    if (!err) {
      out.set(plan.row.id, { kind: 'unknown', contactId })
      continue
    }
    const sorted = classifyCommandError(err, 'the deal')
    out.set(plan.row.id, sorted.kind === 'failed' ? { ...sorted, contactId } : { kind: sorted.kind, contactId })
  }
  return out
}

export interface SimpleBatchSort {
  delivered: Array<{ id: number; b24LeadId: number; b24ContactId: number | null }>
  failed: Array<{ id: number; error: string }>
  retry: Lead[]
  limited: Lead[]
  unknown: number[]
  /** contacts made without their deal: kept on the lead, so the next attempt binds to them */
  madeContacts: Array<{ id: number; contactId: number }>
}

/** Simple mode: the batch's leads sorted like a classic batch's, plus the contacts to keep. */
export function sortSimpleBatch(plans: SimplePlan[], res: Answer): SimpleBatchSort {
  const outcomes = readSimpleBatch(plans, res)
  const out: SimpleBatchSort = { delivered: [], failed: [], retry: [], limited: [], unknown: [], madeContacts: [] }
  for (const plan of plans) {
    const o = outcomes.get(plan.row.id)!
    if (o.kind !== 'delivered' && o.contactId !== null && plan.row.b24_contact_id !== o.contactId)
      out.madeContacts.push({ id: plan.row.id, contactId: o.contactId })
    if (o.kind === 'delivered') out.delivered.push({ id: plan.row.id, b24LeadId: o.dealId, b24ContactId: o.contactId })
    else if (o.kind === 'failed') out.failed.push({ id: plan.row.id, error: o.error })
    else if (o.kind === 'unknown') out.unknown.push(plan.row.id)
    else out[o.kind].push(plan.row)
  }
  return out
}

/** `crm.lead.add?fields…` → `crm.lead.add` */
export function methodOf(command: string): string {
  return command.split('?')[0]!.toLowerCase()
}

/**
 * Each command's operating time from the answer's `result_time`, for the budget: the figure, and
 * the command's own cost when Bitrix24 gave its duration.
 */
export function commandTimes(
  keys: Iterable<string>,
  res: Pick<BatchResult, 'result_time'>,
): Array<{ key: string; time: OperatingTime; cost?: { commands: number; costSec: number } }> {
  const times = (res.result_time ?? {}) as Record<string, unknown>
  const out: Array<{ key: string; time: OperatingTime; cost?: { commands: number; costSec: number } }> = []
  for (const key of keys) {
    const time = operatingOf(times[key])
    if (time)
      out.push({ key, time, ...(time.duration !== null ? { cost: { commands: 1, costSec: time.duration } } : {}) })
  }
  return out
}

/** One extra command's outcome: null when it did what it should, else why not in plain words. */
function extraFailure(
  results: Record<string, unknown>,
  errors: Record<string, CommandError>,
  key: string,
): string | null {
  const err = errors[key]
  if (err) return `${err.error || 'error'}: ${err.error_description ?? ''}`.trim().replace(/:$/, '')
  if (!(key in results)) return 'not run by Bitrix24 (the batch answer did not mention it)'
  // im.notify.system.add answers false when it made no notice (a user not on the portal).
  if (results[key] === false) return 'Bitrix24 made no notification (result false: the user is not on the portal)'
  return null
}

/**
 * The speed-to-lead extras of the leads that were delivered (a lead not made has extras that
 * failed for that reason alone: not worth a line): per kind, the last failure, null after only
 * successes, left out when none ran. A failed look-up of the responsible user is the
 * notification's failure (its notice could not be addressed).
 */
export function sortExtras(delivered: ExtraKeys[], res: Answer): ExtrasOutcome {
  const results = resultsOf(res)
  const errors = errorsOf(res)
  const out: ExtrasOutcome = {}
  for (const keys of delivered) {
    if (keys.notify) {
      const why =
        (keys.get ? extraFailure(results, errors, keys.get) : null) ?? extraFailure(results, errors, keys.notify)
      if (why !== null || out.notify_error === undefined) out.notify_error = why
    }
    if (keys.todo) {
      const why = extraFailure(results, errors, keys.todo)
      if (why !== null || out.todo_error === undefined) out.todo_error = why
    }
  }
  return out
}
