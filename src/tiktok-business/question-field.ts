import { createHash } from 'node:crypto'
import { Errors } from '../errors.js'
import type { TikTokContext } from './context.js'
import { fieldsOf } from './forms.js'

/**
 * A TikTok form question as a new Bitrix24 lead field: its name and crm.lead.userfield.add's
 * fields. The caller checks the ad account is the portal's first.
 */

/**
 * The question's field definition for crm.lead.userfield.add. TikTok's page/field/get gives
 * question names only (no type, no choices), so the admin says whether it is a list; a list's
 * items are the choices given, else the answers already seen for the question.
 * @see https://apidocs.bitrix24.com/api-reference/crm/leads/userfield/crm-lead-userfield-add.html
 */
export async function fieldFor(
  ctx: TikTokContext,
  memberId: string,
  advertiserId: string,
  pageId: string,
  question: string,
  kind: 'string' | 'enumeration',
  items: string[],
): Promise<{ fieldName: string; fields: Record<string, unknown> }> {
  const form = await ctx.repo.findForm(advertiserId, pageId)
  const field = form && fieldsOf(form).find((f) => f.name === question)
  if (!field) throw Errors.notFound('this form has no such question')
  // Stable per question and short (names are at most 50 characters with the UF_CRM_ prefix).
  const code = `TT${createHash('sha256').update(question).digest('hex').slice(0, 8).toUpperCase()}`
  const choices =
    kind === 'enumeration'
      ? [
          ...new Set([...field.options, ...items, ...(items.length ? [] : await answersSeen(ctx, memberId, question))]),
        ].slice(0, 100)
      : []
  if (kind === 'enumeration' && choices.length === 0)
    throw Errors.badRequest(
      'a list field needs its items: no answers to this question have been seen yet, so give them',
    )
  const label = question.slice(0, 250)
  return {
    fieldName: `UF_CRM_${code}`,
    fields: {
      FIELD_NAME: code,
      USER_TYPE_ID: kind,
      LABEL: label,
      EDIT_FORM_LABEL: label,
      LIST_COLUMN_LABEL: label,
      LIST_FILTER_LABEL: label,
      ...(kind === 'enumeration' ? { LIST: choices.map((VALUE, i) => ({ VALUE, SORT: (i + 1) * 10 })) } : {}),
    },
  }
}

/** Distinct answers to one question among the portal's latest leads (list items for a new field). */
async function answersSeen(ctx: TikTokContext, memberId: string, question: string): Promise<string[]> {
  const seen = new Set<string>()
  for (const row of await ctx.leads.latest(memberId, { limit: 200 })) {
    const lead = JSON.parse(row.lead_json) as { answers?: Array<{ key: string; value: string }> }
    for (const a of lead.answers ?? []) if (a.key === question && a.value.trim()) seen.add(a.value.trim())
  }
  return [...seen]
}
