import { asB24Error } from '../bitrix24/classify.js'
import type { PortalSettings } from '../db/schema.js'
import { deliveredStageOf } from '../quality/stage-map.js'
import { commandTimes, methodOf, sortExtras, sortLeadBatch, sortSimpleBatch } from './batch-results.js'
import { decide, findDuplicates, type DuplicateMatch } from './dedup.js'
import {
  type ExtraKeys,
  leadCommand,
  type LeadCommand,
  type PreparedLead,
  type SpeedToLead,
  speedCommands,
} from './lead-commands.js'
import { handleBatchError, recordUndelivered } from './outcomes.js'
import { ADD_METHOD, type PortalWorker } from './portal-worker.js'
import { buildSimpleBatch, findContacts, ITEM_ADD } from './simple-mode.js'

/**
 * Sending a claimed batch and recording each lead's outcome (batch-results.ts sorts the answer).
 * Every function here runs inside a slot of the portal's queue, so it calls the unpaced client.
 */

/** A look-up before the send; on failure the leads go back to the queue (nothing was written). */
async function lookUp<T>(w: PortalWorker, prepared: PreparedLead[], find: () => Promise<T>): Promise<T | null> {
  try {
    return await find()
  } catch (err) {
    const e = asB24Error(err, 'transient')
    // A look-up changes nothing in Bitrix24, so even an unknown outcome is safe to repeat.
    await handleBatchError(
      w,
      prepared.map((p) => p.row),
      e.kind === 'outcome_unknown' ? e.as('transient') : e,
    )
    for (const p of prepared) w.inFlight.delete(p.row.id)
    return null
  }
}

/** Duplicate look-up for a dedup portal. */
export function lookUpDuplicates(
  w: PortalWorker,
  prepared: PreparedLead[],
): Promise<Map<number, DuplicateMatch> | null> {
  return lookUp(w, prepared, () =>
    findDuplicates(
      w.client(),
      prepared.map((p) => ({ id: p.row.id, fields: p.fields })),
    ),
  )
}

/**
 * Simple mode: existing contacts with the leads' phones/e-mails (a lead whose contact an earlier
 * attempt made needs no look-up).
 */
export function lookUpContacts(w: PortalWorker, prepared: PreparedLead[]): Promise<Map<number, number[]> | null> {
  return lookUp(w, prepared, () =>
    findContacts(
      w.client(),
      prepared.filter((p) => p.row.b24_contact_id === null),
    ),
  )
}

/**
 * Classic mode: the prepared leads as one batch of lead commands (or skipped as duplicates).
 * `speed`: the portal's speed-to-lead options as the claim read them (speedToLeadOf). A lead found
 * again after an unknown outcome (reconcile.ts) is marked delivered without them: its notification
 * or to-do may then be missing, which is accepted, since sending them again could make a second
 * one for a lead whose first batch did make them.
 */
export async function sendLeads(
  w: PortalWorker,
  prepared: PreparedLead[],
  matches: Map<number, DuplicateMatch>,
  conf: PortalSettings,
  speed: SpeedToLead | null,
): Promise<void> {
  const rowIds = prepared.map((p) => p.row.id)
  try {
    const skipped: Array<{ id: number; b24LeadId: number | null; duplicateOf: string }> = []
    const commands: LeadCommand[] = []
    const now = w.now()
    for (const p of prepared) {
      const decision = decide(conf.dedup_policy, matches.get(p.row.id))
      if (decision.action === 'skip')
        skipped.push({ id: p.row.id, b24LeadId: decision.existingLeadId, duplicateOf: decision.duplicateOf })
      const cmd = leadCommand(p, decision)
      // Only a new lead gets the notification and the to-do: an updated one is already someone's.
      if (cmd && speed && !cmd.updates)
        cmd.extras = speedCommands(speed, { rowId: p.row.id, ownerKey: cmd.key, simple: false, fields: p.fields, now })
      if (cmd) commands.push(cmd)
    }
    if (skipped.length) await w.ctx.leads.markDuplicate(skipped, w.now())
    // The stage each new lead is written at: its first stage read is compared with it.
    const stages = new Map(prepared.map((p) => [p.row.id, deliveredStageOf('lead', p.fields)]))
    if (commands.length) await sendCommands(w, commands, stages)
  } finally {
    for (const id of rowIds) w.inFlight.delete(id)
  }
}

/** The delivered leads' extras, recorded for the tab (a failure never changes the lead's outcome). */
async function recordExtras(
  w: PortalWorker,
  delivered: ExtraKeys[],
  res: Parameters<typeof sortExtras>[1],
): Promise<void> {
  if (delivered.length === 0) return
  const outcome = sortExtras(delivered, res)
  if (outcome.notify_error || outcome.todo_error)
    w.log.warn(
      { notifyError: outcome.notify_error ?? null, todoError: outcome.todo_error ?? null },
      'speed-to-lead command failed; the leads are delivered',
    )
  await w.ctx.settings.recordExtras(w.memberId, outcome)
}

async function sendCommands(w: PortalWorker, commands: LeadCommand[], stages: Map<number, string>): Promise<void> {
  const { leads, budget } = w.ctx
  const started = w.now()
  try {
    // Each lead's extras after all the leads' own commands: every reference points backwards.
    const batch: Record<string, string> = Object.fromEntries(commands.map((c) => [c.key, c.command]))
    for (const c of commands) Object.assign(batch, c.extras?.commands)
    const res = await w.client().batch(batch, false)
    w.portalWorks()
    const methods = new Map(Object.entries(batch).map(([key, command]) => [key, methodOf(command)]))
    for (const { key, time, cost } of commandTimes(methods.keys(), res))
      budget.observe(w.memberId, methods.get(key)!, time, cost)
    const sorted = sortLeadBatch(commands, res)
    const t = w.now()
    await leads.markDelivered(
      sorted.delivered.map((d) => ({ ...d, stageId: stages.get(d.id) ?? null })),
      t,
    )
    const deliveredIds = new Set(sorted.delivered.map((d) => d.id))
    await recordExtras(
      w,
      commands.flatMap((c) => (c.extras && deliveredIds.has(c.row.id) ? [c.extras.keys] : [])),
      res,
    )
    if (sorted.updated.length) await leads.markDuplicate(sorted.updated, t)
    await recordUndelivered(w, sorted, { at: t, started, method: ADD_METHOD, what: 'lead' })
    w.log.info(
      {
        sent: commands.length,
        delivered: sorted.delivered.length,
        updated: sorted.updated.length,
        failed: sorted.failed.length,
        retry: sorted.retry.length,
        ms: t - started,
      },
      'batch sent',
    )
  } catch (err) {
    await handleBatchError(
      w,
      commands.map((c) => c.row),
      asB24Error(err, 'outcome_unknown'),
      started,
    )
  }
}

/** Simple mode: a contact and a deal per lead in one batch (simple-mode.ts), each lead's outcome recorded. */
export async function sendSimple(
  w: PortalWorker,
  prepared: PreparedLead[],
  contacts: Map<number, number[]>,
  conf: PortalSettings,
  speed: SpeedToLead | null,
): Promise<void> {
  const { leads, budget } = w.ctx
  const started = w.now()
  const { commands, plans, skipped } = buildSimpleBatch(prepared, contacts, conf.dedup_policy)
  // Two commands were taken per lead; a reused contact or a skipped lead sends fewer.
  budget.giveBack(w.memberId, ITEM_ADD, prepared.length * 2 - Object.keys(commands).length)
  try {
    if (skipped.length) await leads.markDuplicate(skipped, w.now())
    if (plans.length === 0) return
    // The deals' speed-to-lead extras, after every contact and deal command (they reference the deal).
    const itemKeys = Object.keys(commands)
    const extras = new Map<number, ExtraKeys>()
    const fields = new Map(prepared.map((p) => [p.row.id, p.fields]))
    if (speed) {
      const now = w.now()
      for (const plan of plans) {
        const made = speedCommands(speed, {
          rowId: plan.row.id,
          ownerKey: plan.dealKey,
          simple: true,
          fields: fields.get(plan.row.id) ?? {},
          now,
        })
        Object.assign(commands, made.commands)
        extras.set(plan.row.id, made.keys)
      }
    }
    let res
    try {
      res = await w.client().batch(commands, false)
    } catch (err) {
      await handleBatchError(
        w,
        plans.map((p) => p.row),
        asB24Error(err, 'outcome_unknown'),
        started,
      )
      return
    }
    w.portalWorks()
    for (const { time, cost } of commandTimes(itemKeys, res)) budget.observe(w.memberId, ITEM_ADD, time, cost)
    for (const { key, time, cost } of commandTimes(
      Object.keys(commands).filter((k) => !itemKeys.includes(k)),
      res,
    ))
      budget.observe(w.memberId, methodOf(commands[key]!), time, cost)
    const sorted = sortSimpleBatch(plans, res)
    await leads.setContactIds(sorted.madeContacts)
    const t = w.now()
    await leads.markDelivered(
      sorted.delivered.map((d) => ({ ...d, stageId: deliveredStageOf('deal', fields.get(d.id) ?? {}) })),
      t,
      { entity: 'deal' },
    )
    await recordExtras(
      w,
      sorted.delivered.flatMap((d) => (extras.has(d.id) ? [extras.get(d.id)!] : [])),
      res,
    )
    await recordUndelivered(w, sorted, { at: t, started, method: ITEM_ADD, what: 'deal' })
    w.log.info(
      {
        sent: plans.length,
        commands: Object.keys(commands).length,
        delivered: sorted.delivered.length,
        contactsReused: plans.filter((p) => p.contactId !== null).length,
        ms: t - started,
      },
      'simple-mode batch sent (contacts and deals)',
    )
  } finally {
    for (const p of prepared) w.inFlight.delete(p.row.id)
  }
}
