import type { Readable } from 'node:stream'
import { parse as parseCsv } from 'csv-parse'
import { Unzip, UnzipInflate, type UnzipFile } from 'fflate'
import { toIsoTime } from '../tiktok/create-time.js'
import { LeadIdValue, type LeadAnswer, type NormalizedLead } from '../tiktok/schemas.js'

/**
 * Streams the file `/page/lead/task/download/` returns (a form's whole lead history, ≤ 90 days)
 * into NormalizedLead records, one row at a time: a large export never sits in memory, neither
 * as text nor as leads.
 *
 * The file: UTF-8 CSV (maybe with a BOM), RFC 4180 quoting, times in UTC; above 10 MB TikTok
 * sends it zipped. Header: `lead_id,create_time,lead_source,advertiser_id,page_id,page_name,
 * campaign_id,campaign_name,adgroup_id,adgroup_name,ad_id,ad_name,` then one column per form
 * question, named by the question, in form order. An empty cell is an unanswered question.
 *
 * What a real export may do differently is tolerated: meta headers in other case or spacing,
 * `created_time` for create_time, `form_id`/`form_name` for page_id/page_name; any column that
 * is not a known meta column is an answer; a zip's first `.csv` entry is read.
 * A row without a usable lead_id is skipped and counted in `stats`, never thrown; a file without
 * a lead_id column throws ExportFormatError.
 *
 * @see https://business-api.tiktok.com/portal/docs (Lead Generation: lead export task, download)
 */

export class ExportFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ExportFormatError'
  }
}

export interface ExportForm {
  advertiserId: string
  pageId: string
  pageName: string | null
}

/** Filled in while the generator runs; complete once it is done. */
export interface ExportStats {
  /** Data rows read (not counting the header). */
  rows: number
  leads: number
  skipped: number
  /** The first few skipped rows: the file's line number and why. */
  skippedRows: Array<{ line: number; reason: string }>
}

const MAX_SKIPPED_REPORTED = 20

export function createExportStats(): ExportStats {
  return { rows: 0, leads: 0, skipped: 0, skippedRows: [] }
}

type MetaField =
  | 'lead_id'
  | 'create_time'
  | 'lead_source'
  | 'advertiser_id'
  | 'page_id'
  | 'page_name'
  | 'campaign_id'
  | 'campaign_name'
  | 'adgroup_id'
  | 'adgroup_name'
  | 'ad_id'
  | 'ad_name'

/** Normalised header → meta field. */
const META_HEADERS: ReadonlyMap<string, MetaField> = new Map<string, MetaField>([
  ['lead_id', 'lead_id'],
  ['create_time', 'create_time'],
  ['created_time', 'create_time'],
  ['lead_source', 'lead_source'],
  ['advertiser_id', 'advertiser_id'],
  ['page_id', 'page_id'],
  ['form_id', 'page_id'],
  ['page_name', 'page_name'],
  ['form_name', 'page_name'],
  ['campaign_id', 'campaign_id'],
  ['campaign_name', 'campaign_name'],
  ['adgroup_id', 'adgroup_id'],
  ['adgroup_name', 'adgroup_name'],
  ['ad_id', 'ad_id'],
  ['ad_name', 'ad_name'],
])

/** "Lead ID " → "lead_id", "Created-Time" → "created_time". */
function metaKey(header: string): string {
  return header
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_')
}

interface Layout {
  meta: Partial<Record<MetaField, number>>
  answers: Array<{ index: number; key: string }>
}

function layoutOf(header: string[]): Layout {
  const meta: Partial<Record<MetaField, number>> = {}
  const answers: Layout['answers'] = []
  header.forEach((raw, index) => {
    const key = raw.replace(/^\uFEFF/, '').trim()
    if (key === '') return
    const field = META_HEADERS.get(metaKey(key))
    // Only the first column of a meta name is meta; a repeat is taken as a question.
    if (field && meta[field] === undefined) meta[field] = index
    else answers.push({ index, key })
  })
  if (meta.lead_id === undefined) {
    const shown = header
      .slice(0, 8)
      .map((h) => JSON.stringify(h.slice(0, 40)))
      .join(', ')
    throw new ExportFormatError(`the lead export has no lead_id column (header starts ${shown || '(empty)'})`)
  }
  return { meta, answers }
}

export async function* readLeadExport(
  body: Readable,
  fileType: 'csv' | 'zip',
  form: ExportForm,
  stats: ExportStats = createExportStats(),
): AsyncGenerator<NormalizedLead> {
  const source: AsyncIterable<Uint8Array> = fileType === 'zip' ? firstCsvInZip(body) : body
  const parser = parseCsv({
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    info: true,
  })
  // Feed the parser by hand so the source is read only as fast as rows are consumed, and a
  // source error (or a broken zip) rejects the generator instead of being lost.
  const feeding = (async () => {
    try {
      let first = true
      for await (const chunk of source) {
        if (first && chunk.length > 0) {
          first = false
          // TikTok answers some download errors with JSON instead of the file.
          if (/^(\uFEFF)?\s*[{[]/.test(Buffer.from(chunk.subarray(0, 64)).toString('utf8'))) {
            throw new ExportFormatError('the lead export is JSON, not CSV (TikTok answered with an error)')
          }
        }
        if (!parser.write(chunk)) await onceDrained(parser)
      }
      parser.end()
    } catch (err) {
      parser.destroy(err instanceof Error ? err : new Error(String(err)))
    }
  })()

  let layout: Layout | null = null
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const { record, info } = item
      if (layout === null) {
        layout = layoutOf(record)
        continue
      }
      stats.rows++
      const lead = toLead(record, layout, form)
      if (typeof lead === 'string') {
        stats.skipped++
        if (stats.skippedRows.length < MAX_SKIPPED_REPORTED) stats.skippedRows.push({ line: info.lines, reason: lead })
        continue
      }
      stats.leads++
      yield lead
    }
    if (layout === null) throw new ExportFormatError('the lead export is empty (no header row)')
  } catch (err) {
    // csv-parse's own errors (an unclosed quote …) say where; keep them, under one error type.
    if (err instanceof ExportFormatError) throw err
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('CSV_')) {
      throw new ExportFormatError(`the lead export is not valid CSV: ${(err as Error).message}`)
    }
    throw err
  } finally {
    // Stop reading when the consumer stops early or the file is bad.
    if (!parser.destroyed) parser.destroy()
    if (!body.destroyed) body.destroy()
    await feeding
  }
}

/** One CSV row → a lead, or the reason it was skipped. */
function toLead(record: string[], layout: Layout, form: ExportForm): NormalizedLead | string {
  const cell = (field: MetaField): string | null => {
    const i = layout.meta[field]
    if (i === undefined) return null
    const v = record[i]?.trim()
    return v ? v : null
  }
  const rawId = cell('lead_id')
  if (rawId === null) return 'lead_id is empty'
  const id = LeadIdValue.safeParse(rawId)
  if (!id.success) return `lead_id ${id.error.issues[0]?.message ?? 'is not valid'}`

  const answers: LeadAnswer[] = []
  for (const { index, key } of layout.answers) {
    const value = record[index]?.trim()
    if (value) answers.push({ key, value })
  }
  const pageId = cell('page_id') ?? form.pageId
  const pageName = cell('page_name') ?? form.pageName
  return {
    leadId: id.data,
    format: 'export',
    createdAt: toIsoTime(cell('create_time')),
    formId: pageId,
    formName: pageName,
    pageId,
    pageName,
    advertiserId: cell('advertiser_id') ?? form.advertiserId,
    advertiserName: null,
    campaignId: cell('campaign_id'),
    campaignName: cell('campaign_name'),
    adgroupId: cell('adgroup_id'),
    adgroupName: cell('adgroup_name'),
    adId: cell('ad_id'),
    adName: cell('ad_name'),
    answers,
  }
}

function onceDrained(stream: NodeJS.WritableStream & { destroyed?: boolean }): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done)
      stream.off('close', done)
      resolve()
    }
    stream.on('drain', done)
    stream.on('close', done)
  })
}

/**
 * The uncompressed bytes of the first `.csv` entry of a zip, as they are inflated: fflate's
 * streaming Unzip gets the compressed chunks one by one, and what one chunk inflates to is
 * handed on before the next is read. Other entries (a `__MACOSX/` copy, a readme) are skipped.
 */
async function* firstCsvInZip(body: Readable): AsyncGenerator<Uint8Array> {
  let out: Uint8Array[] = []
  let chosen: UnzipFile | null = null
  let csvDone = false
  let failure: Error | null = null

  const unzip = new Unzip((file) => {
    if (chosen !== null || !/\.csv$/i.test(file.name) || /(^|\/)__MACOSX\//.test(file.name)) return
    chosen = file
    file.ondata = (err, chunk, final) => {
      if (err) failure = new ExportFormatError(`the lead export zip is damaged (${err.message})`)
      else {
        if (chunk.length > 0) out.push(chunk)
        if (final) csvDone = true
      }
    }
    file.start()
  })
  unzip.register(UnzipInflate)

  const push = (chunk: Uint8Array, final: boolean) => {
    try {
      unzip.push(chunk, final)
    } catch (err) {
      failure = new ExportFormatError(
        `the lead export zip is damaged (${err instanceof Error ? err.message : String(err)})`,
      )
    }
  }

  for await (const chunk of body as AsyncIterable<Buffer>) {
    push(chunk, false)
    if (failure) throw failure
    if (out.length > 0) {
      const ready = out
      out = []
      yield* ready
    }
    if (csvDone) return
  }
  push(new Uint8Array(0), true)
  if (failure) throw failure
  yield* out
  if (chosen === null) throw new ExportFormatError('the lead export zip holds no .csv file')
  if (!csvDone) throw new ExportFormatError('the lead export zip ends inside its .csv file')
}
