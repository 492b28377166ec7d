import { DEAL_TYPE, LEAD_TYPE } from '../bitrix24/entity-types.js'
import { batchCommand } from '../bitrix24/query.js'
import { todoPingsOf } from '../db/repositories/settings.js'
import type { Lead, Portal, PortalSettings } from '../db/schema.js'
import { escapeHtml } from '../mapping/lead-text.js'
import type { MapLeadOptions } from '../mapping/map-lead.js'
import { mapStoredLead, mappingOf, nameOptions } from '../mapping/stored-lead.js'
import { pickLang, STRINGS } from '../settings/i18n.js'
import { cardUrl, leadUrlTemplate } from '../settings/view-model.js'
import type { DedupDecision } from './dedup.js'

export interface PreparedLead {
  row: Lead
  fields: Record<string, unknown>
}

export interface LeadCommand {
  key: string
  command: string
  row: Lead
  /** for updates: the existing Bitrix24 lead the command writes to */
  updates?: { leadId: number; duplicateOf: string }
  /** speed-to-lead commands riding after this one (new leads only) */
  extras?: { commands: Record<string, string>; keys: ExtraKeys }
}

/**
 * Map every row with the portal's current mapping (applied at send time, so edits reach queued
 * leads); a lead whose stored data cannot be mapped fails alone.
 */
export function prepareLeads(
  rows: Lead[],
  conf: PortalSettings,
  originatorId: string,
  lang?: string,
): { prepared: PreparedLead[]; failed: Array<{ id: number; error: string }> } {
  const opts: MapLeadOptions = {
    ...nameOptions(conf, lang),
    mapping: mappingOf(conf),
    defaultCountry: conf.default_country,
    originatorId,
  }
  const prepared: PreparedLead[] = []
  const failed: Array<{ id: number; error: string }> = []
  for (const row of rows) {
    try {
      prepared.push({ row, fields: mapStoredLead(row, opts).fields })
    } catch (err) {
      failed.push({ id: row.id, error: `MAPPING_ERROR: ${err instanceof Error ? err.message : String(err)}` })
    }
  }
  return { prepared, failed }
}

const MULTIFIELDS = ['PHONE', 'EMAIL', 'WEB', 'IM']

/**
 * One `batch` command (PHP-style nested keys) keyed `lead_<row id>`, or null when the lead is skipped.
 * @see https://apidocs.bitrix24.com/api-reference/crm/leads/crm-lead-add.html
 * @see https://apidocs.bitrix24.com/api-reference/crm/leads/crm-lead-update.html
 */
export function leadCommand(p: PreparedLead, decision: DedupDecision = { action: 'add' }): LeadCommand | null {
  const key = `lead_${p.row.id}`
  const params = { REGISTER_SONET_EVENT: 'Y' }
  switch (decision.action) {
    case 'skip':
      return null
    case 'update': {
      // The match came from these phones/e-mails: writing them again would add copies to the lead.
      const fields = Object.fromEntries(
        Object.entries(p.fields).filter(([k]) => !MULTIFIELDS.includes(k) && k !== 'TITLE'),
      )
      return {
        key,
        row: p.row,
        command: batchCommand('crm.lead.update', { id: decision.existingLeadId, fields, params }),
        updates: { leadId: decision.existingLeadId, duplicateOf: decision.duplicateOf },
      }
    }
    case 'add': {
      const fields = decision.note
        ? {
            ...p.fields,
            COMMENTS: `Possible duplicate of ${escapeHtml(decision.note)}\n${String(p.fields.COMMENTS ?? '')}`,
          }
        : p.fields
      return { key, row: p.row, command: batchCommand('crm.lead.add', { fields, params }) }
    }
  }
}

/**
 * Speed-to-lead (the portal's options, migration 0012): a notification to the new lead's
 * responsible user and a to-do "Call this TikTok lead", each one more command in the lead's own
 * batch, chained to it with `$result[...]`, so they cost no extra request.
 * @see https://apidocs.bitrix24.com/api-reference/chats/notifications/im-notify-system-add.html
 * @see https://apidocs.bitrix24.com/api-reference/crm/timeline/activities/todo/crm-activity-todo-add.html
 * @see https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html
 */
export interface SpeedToLead {
  notify: boolean
  todo: { minutes: number; pings: number[] } | null
  /** the record's card in the portal (`#ID#` for its id; a lead's, see leadUrlTemplate) */
  cardUrl: string
  /** the portal's words: the to-do's title and the notification (`{link}`) */
  todoTitle: string
  notifyText: string
}

/** The portal's speed-to-lead options, or null when both are off. */
export function speedToLeadOf(conf: PortalSettings, portal: Pick<Portal, 'domain' | 'lang'>): SpeedToLead | null {
  const notify = conf.notify_responsible === 1
  const todo = conf.todo_minutes ? { minutes: conf.todo_minutes, pings: todoPingsOf(conf) } : null
  if (!notify && !todo) return null
  const t = STRINGS[pickLang(portal.lang)]
  return {
    notify,
    todo,
    cardUrl: leadUrlTemplate(portal.domain),
    todoTitle: t.todo_title,
    notifyText: t.notify_new_lead,
  }
}

/**
 * Commands each new lead adds to its batch for these options. Classic mode: the notification
 * takes two, a `crm.lead.get` of the new lead and the notice addressed to the responsible user it
 * answers (so a lead Bitrix24 refused gets no notice: the unresolved reference leaves USER_ID
 * empty and the notice is refused); simple mode reads the responsible from the deal's own answer.
 */
export function extrasPerLead(s: SpeedToLead | null, simple: boolean): number {
  if (!s) return 0
  return (s.notify ? (simple ? 1 : 2) : 0) + (s.todo ? 1 : 0)
}

/** The keys of one lead's extra commands (classic and simple mode alike). */
export interface ExtraKeys {
  get?: string
  notify?: string
  todo?: string
}

/** An ISO 8601 time with its offset, as crm.activity.todo.add takes a deadline. */
export function isoWithOffset(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00')
}

const ID_MARK = 'SPEEDTOLEADID'
/** `[` and `]` would close the notice's BB-code link early. */
const bbSafe = (v: unknown) =>
  String(v ?? '')
    .replace(/[[\]]/g, '')
    .slice(0, 200)

/**
 * One new lead's extra commands, to follow its own command in the batch. `ownerKey` is the
 * command that makes the record (`lead_<id>`, or `d_<id>` for a deal in simple mode); a
 * reference that does not resolve (the record was not made) makes each extra fail on its own,
 * and the lead's outcome is read from its own command only (batch-results.ts).
 */
export function speedCommands(
  s: SpeedToLead,
  args: {
    rowId: number
    ownerKey: string
    simple: boolean
    fields: Record<string, unknown>
    /** the delivery's time: the to-do is due todo.minutes after it */
    now: number
  },
): { commands: Record<string, string>; keys: ExtraKeys } {
  const { rowId, ownerKey, simple } = args
  // Bitrix24 replaces `$result[...]` in the command text, so references go unencoded.
  const ownerId = simple ? `$result[${ownerKey}][item][id]` : `$result[${ownerKey}]`
  const getKey = `g_${rowId}`
  const responsible = simple
    ? `$result[${ownerKey}][item][assignedById]`
    : s.notify
      ? `$result[${getKey}][ASSIGNED_BY_ID]`
      : null
  const mapped = Number(args.fields.ASSIGNED_BY_ID)
  const commands: Record<string, string> = {}
  const keys: ExtraKeys = {}
  if (s.notify && !simple) {
    keys.get = getKey
    commands[getKey] = `crm.lead.get?id=${ownerId}`
  }
  if (s.todo) {
    keys.todo = `t_${rowId}`
    const base = batchCommand('crm.activity.todo.add', {
      ownerTypeId: simple ? DEAL_TYPE : LEAD_TYPE,
      deadline: isoWithOffset(args.now + s.todo.minutes * 60_000),
      title: s.todoTitle,
      pingOffsets: s.todo.pings,
      // Without a reference: the mapped responsible, else none (the caller, the app's user, who is
      // also whom Bitrix24 makes responsible for a lead written without ASSIGNED_BY_ID).
      ...(responsible === null && Number.isInteger(mapped) && mapped > 0 ? { responsibleId: mapped } : {}),
    })
    commands[keys.todo] = `${base}&ownerId=${ownerId}${responsible === null ? '' : `&responsibleId=${responsible}`}`
  }
  if (s.notify) {
    keys.notify = `n_${rowId}`
    const url = cardUrl(s.cardUrl, simple ? 'deal' : 'lead', ID_MARK)
    const link = `[URL=${url}]${bbSafe(args.fields.TITLE) || `#${ID_MARK}`}[/URL]`
    const text = s.notifyText.replace('{link}', link)
    commands[keys.notify] =
      `${batchCommand('im.notify.system.add', { MESSAGE: text, TAG: `TIKTOK_LEAD_${rowId}` })}&USER_ID=${responsible}`.replaceAll(
        ID_MARK,
        ownerId,
      )
  }
  return { commands, keys }
}
