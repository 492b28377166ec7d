/**
 * Lead download: `/page/lead/task/` (create, then poll with task_id) and
 * `/page/lead/task/download/` (the file itself, not JSON).
 * @see bububa model/page/lead/task.go (CREATED|RUNNING|SUCCEED|FAILED, file_name, file_type csv|zip),
 *   api/page/lead/task_download.go: "UTC+0 … CSV (raw CSV <= 10MB) or zip (raw CSV > 10MB), not JSON;
 *   errors … JSON"; promopult/tiktok-marketing-api src/Service/Leads.php: the file expires 10 minutes
 *   after creation ("file not exist"); ads.tiktok.com/help/article/leads-center-manage: "TikTok Ads
 *   Manager only stores lead data for 90 days".
 *
 * The file is streamed (rows → csv-stringify → optional zip), never built whole in memory.
 */
import { PassThrough, Readable, Transform, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { stringify } from 'csv-stringify'
import type { FastifyInstance } from 'fastify'
import { Zip, ZipDeflate } from 'fflate'
import { api, checkAdvertiser, checkToken, datetime, FileAnswer, required, str, type Ctx } from './api.js'
import { ApiError, CODE } from './envelope.js'
import type { Form, Lead } from './state.js'

export const RETENTION_MS = 90 * 24 * 3600 * 1000

export const BASE_COLUMNS = [
  'lead_id',
  'create_time',
  'lead_source',
  'advertiser_id',
  'page_id',
  'page_name',
  'campaign_id',
  'campaign_name',
  'adgroup_id',
  'adgroup_name',
  'ad_id',
  'ad_name',
] as const

export interface ExportOptions {
  taskDelayMs: number
  zipThresholdBytes: number
  fileTtlMs: number
}

interface Task {
  id: string
  advertiserId: string
  createdAt: number
  /** Snapshot at creation: the form's questions then, and its leads of the last 90 days. [INFERRED] */
  columns: string[]
  pageName: string
  leads: Lead[]
  csvBytes?: number
}

function rowsOf(task: Task): Readable {
  const fields = task.columns.slice(BASE_COLUMNS.length)
  function* rows() {
    for (const lead of task.leads) {
      const c = lead.campaign
      yield [
        lead.id,
        datetime(lead.createTime * 1000),
        'INSTANT_FORM',
        lead.advertiserId,
        lead.pageId,
        task.pageName,
        c.campaign_id,
        c.campaign_name,
        c.adgroup_id,
        c.adgroup_name,
        c.ad_id,
        c.ad_name,
        // Answers to questions no longer on the form are not exported. [INFERRED]
        ...fields.map((name) => lead.answers[name] ?? ''),
      ]
    }
  }
  return Readable.from(rows(), { objectMode: true })
}

/**
 * UTF-8 with a BOM, a header row, RFC 4180: CRLF between records, fields with a comma, quote, CR
 * or LF quoted. [INFERRED] the BOM and CRLF (Excel-friendly exports; TikTok's bytes are unpublished).
 */
function csvOf(task: Task): Readable {
  const csv = stringify({
    bom: true,
    header: true,
    record_delimiter: 'windows',
    quoted_match: /[\r\n]/,
    columns: task.columns.map((header, i) => ({ key: String(i), header })),
  })
  return rowsOf(task).pipe(csv)
}

async function csvSize(task: Task): Promise<number> {
  let bytes = 0
  await pipeline(
    csvOf(task),
    new Writable({
      write(chunk: Buffer | string, _enc, done) {
        bytes += Buffer.byteLength(chunk)
        done()
      },
    }),
  )
  return bytes
}

/** One deflated .csv inside a streaming zip (fflate Zip + ZipDeflate). */
function zipOf(csv: Readable, innerName: string): Readable {
  const out = new PassThrough()
  const zip = new Zip((err, data, final) => {
    if (err) out.destroy(err)
    else {
      out.write(data)
      if (final) out.end()
    }
  })
  const file = new ZipDeflate(innerName, { level: 6 })
  zip.add(file)
  const feed = new Transform({
    transform(chunk: Buffer, _enc, done) {
      file.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      done()
    },
    flush(done) {
      file.push(new Uint8Array(0), true)
      zip.end()
      done()
    },
  })
  csv
    .pipe(feed)
    .on('error', (e) => out.destroy(e))
    .resume()
  return out
}

export function registerExport(app: FastifyInstance, ctx: Ctx, opts: ExportOptions): void {
  const tasks = new Map<string, Task>()
  const isZip = (t: Task) => (t.csvBytes ?? 0) > opts.zipThresholdBytes
  const fileName = (t: Task) => `leads_${t.id}.${isZip(t) ? 'zip' : 'csv'}`

  api(app, ctx, 'POST', 'page/lead/task', async (req) => {
    const b = req.body
    if (str(b, 'advertiser_id') === undefined && str(b, 'library_id') !== undefined) {
      throw new ApiError(CODE.PARAM, 'library_id is not supported by this emulator.')
    }
    required(b, 'advertiser_id')
    const token = checkToken(ctx, req)
    const advertiserId = str(b, 'advertiser_id') as string
    checkAdvertiser(token, advertiserId)
    const taskId = str(b, 'task_id')
    if (taskId !== undefined) {
      const task = tasks.get(taskId)
      if (!task || task.advertiserId !== advertiserId)
        throw new ApiError(CODE.NOT_FOUND, `The task ${taskId} does not exist.`)
      if (ctx.now() - task.createdAt < opts.taskDelayMs) return { task_id: task.id, status: 'RUNNING' }
      task.csvBytes ??= await csvSize(task)
      return { task_id: task.id, status: 'SUCCEED', file_name: fileName(task), file_type: isZip(task) ? 'zip' : 'csv' }
    }
    if (str(b, 'page_id') === undefined && str(b, 'ad_id') !== undefined) {
      throw new ApiError(CODE.PARAM, 'ad_id is not supported by this emulator; pass page_id.')
    }
    required(b, 'page_id')
    const pageId = str(b, 'page_id') as string
    const form: Form | undefined = ctx.state.forms.get(pageId)
    if (!form || form.advertiserId !== advertiserId)
      throw new ApiError(CODE.NOT_FOUND, `The page ${pageId} does not exist.`)
    const oldest = (ctx.now() - RETENTION_MS) / 1000
    const task: Task = {
      id: ctx.state.ids.make('76'),
      advertiserId,
      createdAt: ctx.now(),
      columns: [...BASE_COLUMNS, ...form.fields.map((f) => f.name)],
      pageName: form.title,
      leads: form.leads.filter((l) => l.createTime >= oldest),
    }
    tasks.set(task.id, task)
    return { task_id: task.id, status: 'CREATED' }
  })

  api(app, ctx, 'GET', 'page/lead/task/download', async (req) => {
    const q = req.query
    required(q, 'advertiser_id', 'task_id')
    const token = checkToken(ctx, req)
    checkAdvertiser(token, q['advertiser_id'] as string)
    const task = tasks.get(q['task_id'] as string)
    if (!task || task.advertiserId !== q['advertiser_id']) throw new ApiError(CODE.FILE_NOT_FOUND, 'file not exist')
    const doneAt = task.createdAt + opts.taskDelayMs
    if (ctx.now() < doneAt) throw new ApiError(CODE.TASK_NOT_READY, 'Task is not ready.')
    if (ctx.now() >= doneAt + opts.fileTtlMs) throw new ApiError(CODE.FILE_NOT_FOUND, 'file not exist')
    task.csvBytes ??= await csvSize(task)
    if (!isZip(task)) return new FileAnswer('text/csv; charset=utf-8', fileName(task), csvOf(task))
    return new FileAnswer('application/zip', fileName(task), zipOf(csvOf(task), `leads_${task.id}.csv`))
  })
}
