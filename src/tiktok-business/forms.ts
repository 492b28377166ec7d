import { z } from 'zod'
import type { TikTokConnection, TikTokForm } from '../db/schema.js'
import type { MappingConfig } from '../mapping/schemas.js'
import { STANDARD_FIELD_KEYS } from '../tiktok/schemas.js'
import type { TikTokContext } from './context.js'

export const FormField = z.object({ name: z.string(), type: z.string().nullable(), options: z.array(z.string()) })
export type FormField = z.infer<typeof FormField>

export function fieldsOf(form: TikTokForm): FormField[] {
  const parsed = z.array(FormField).safeParse(JSON.parse(form.fields_json))
  return parsed.success ? parsed.data : []
}

export function newFieldsOf(form: TikTokForm): string[] {
  const parsed = z.array(z.string()).safeParse(JSON.parse(form.new_fields_json))
  return parsed.success ? parsed.data : []
}

const standard = new Set<string>(STANDARD_FIELD_KEYS)

/** Custom questions of a form that no mapping rule reads (their answers only reach COMMENTS). */
export function unmappedCustom(form: TikTokForm, mapping: MappingConfig): string[] {
  const mapped = new Set(mapping.rules.map((r) => r.source))
  return fieldsOf(form)
    .map((f) => f.name)
    .filter((n) => !standard.has(n) && !mapped.has(n))
}

/** Whether leads of this form come in (all forms, or this one picked). */
export const isWanted = (conn: TikTokConnection, form: TikTokForm): boolean =>
  conn.all_forms === 1 || form.selected === 1

/**
 * Read the ad account's lead forms (page/get) and the questions of the wanted ones
 * (page/field/get), so the mapping editor offers them before any lead arrives. A question that was
 * not there at the last look is remembered as new until it is mapped.
 * @see https://business-api.tiktok.com/portal/docs (Lead Generation: page/get, page/field/get)
 */
export async function refreshForms(ctx: TikTokContext, conn: TikTokConnection, token: string): Promise<TikTokForm[]> {
  const now = ctx.clock.now()
  const listed = await ctx.api.listForms(token, conn.advertiser_id)
  const known = new Map((await ctx.repo.listForms(conn.advertiser_id)).map((f) => [f.page_id, f]))
  for (const f of listed) {
    await ctx.repo.upsertForm({
      advertiser_id: conn.advertiser_id,
      page_id: f.pageId,
      member_id: conn.member_id,
      title: f.title,
      status: f.status,
      selected: conn.all_forms,
      subscription_id: null,
      last_backfill_at: null,
      last_backfill_added: null,
      last_backfill_error: null,
      test_lead_id: null,
      test_lead_at: null,
      updated_at: now,
    })
  }
  // A form deleted at TikTok: forget it (and cancel its own subscription).
  const listedIds = new Set(listed.map((f) => f.pageId))
  for (const [pageId, f] of known) {
    if (listedIds.has(pageId)) continue
    await ctx.repo.enqueueUnsubscribe([f.subscription_id], now)
    await ctx.repo.deleteForm(conn.advertiser_id, pageId)
  }
  const forms = await ctx.repo.listForms(conn.advertiser_id)
  for (const form of forms) {
    if (!isWanted(conn, form)) continue
    const fields = await ctx.api.formFields(token, conn.advertiser_id, form.page_id)
    const before = fieldsOf(form).map((f) => f.name)
    const names = new Set(fields.map((f) => f.name))
    // The first look sets the baseline; later looks add what appeared.
    const added = before.length === 0 ? [] : fields.map((f) => f.name).filter((n) => !before.includes(n))
    const fresh = [...new Set([...newFieldsOf(form), ...added])].filter((n) => names.has(n))
    await ctx.repo.updateForm(conn.advertiser_id, form.page_id, {
      fields_json: JSON.stringify(fields),
      new_fields_json: JSON.stringify(fresh),
      updated_at: now,
    })
  }
  return ctx.repo.listForms(conn.advertiser_id)
}
