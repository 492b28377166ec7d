import type { IncomingLead } from '../db/repositories/lead-inserts.js'
import type { TikTokConnection, TikTokForm } from '../db/schema.js'
import { TikTokApiError } from '../errors.js'
import { leadOrigin } from '../tiktok/origin.js'
import { reason, type TikTokContext } from './context.js'
import { readLeadExport } from './lead-export.js'

const CHUNK = 500
const TASK_TIMEOUT_MS = 10 * 60_000

export interface BackfillResult {
  added: number
  seen: number
  error: string | null
}

/**
 * Import a form's leads from TikTok's lead download (create the task, poll it, stream the CSV or
 * zip) and store every lead created since `sinceMs` that is not stored yet, through the same store
 * as the webhook (same normalised shape, same dedup on the TikTok lead id). Rows come oldest first
 * and are inserted in that order, so the dispatcher delivers them in order of creation.
 * The export has no date filter and re-exports the form's whole history (≤ 90 days), so this runs
 * per form, daily and on demand, never in a tight loop.
 * @see https://business-api.tiktok.com/portal/docs (Lead Generation: lead export)
 */
export async function backfillForm(
  ctx: TikTokContext,
  conn: TikTokConnection,
  form: TikTokForm,
  sinceMs: number,
): Promise<BackfillResult> {
  const log = ctx.log.child({ memberId: conn.member_id, advertiserId: conn.advertiser_id, pageId: form.page_id })
  const result: BackfillResult = { added: 0, seen: 0, error: null }
  try {
    const token = ctx.box.open(conn.token_sealed)
    const taskId = await ctx.api.startLeadTask(token, conn.advertiser_id, form.page_id)
    const until = ctx.clock.now() + TASK_TIMEOUT_MS
    for (;;) {
      const task = await ctx.api.pollLeadTask(token, conn.advertiser_id, form.page_id, taskId)
      if (task.status === 'SUCCEED') break
      if (task.status === 'FAILED') throw new Error('TikTok could not prepare the lead export (task FAILED)')
      if (ctx.clock.now() > until) throw new Error('TikTok did not finish the lead export within 10 minutes')
      await ctx.clock.sleep(ctx.taskPollMs)
    }
    const file = await ctx.api.downloadLeadTask(token, conn.advertiser_id, taskId)
    // The export's times have whole seconds: a lead made in the same second as `sinceMs` counts.
    const since = Math.floor(sinceMs / 1000) * 1000
    let chunk: IncomingLead[] = []
    const flush = async () => {
      if (chunk.length === 0) return
      result.added += await ctx.leads.insertMany(conn.member_id, chunk, { scheme: 'export', valid: true })
      chunk = []
    }
    for await (const lead of readLeadExport(file.body, file.fileType, {
      advertiserId: conn.advertiser_id,
      pageId: form.page_id,
      pageName: form.title,
    })) {
      result.seen += 1
      if (lead.createdAt && Date.parse(lead.createdAt) < since) continue
      const json = JSON.stringify(lead)
      chunk.push({
        tiktokLeadId: lead.leadId,
        format: lead.format,
        isTest: false,
        leadJson: json,
        rawJson: json,
        origin: leadOrigin(lead),
      })
      if (chunk.length >= CHUNK) await flush()
    }
    await flush()
    if (result.added > 0) ctx.dispatcher.notify(conn.member_id)
    log.info({ seen: result.seen, added: result.added }, 'TikTok backfill done')
  } catch (err) {
    result.error = err instanceof TikTokApiError ? `${err.message} (code ${err.code})` : reason(err)
    log.warn({ err: result.error }, 'TikTok backfill failed')
  }
  const now = ctx.clock.now()
  await ctx.repo.updateForm(conn.advertiser_id, form.page_id, {
    last_backfill_at: now,
    last_backfill_added: result.added,
    last_backfill_error: result.error,
    updated_at: now,
  })
  return result
}
