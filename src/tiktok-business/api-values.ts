/**
 * Reading TikTok's answers: ids kept as strings, texts trimmed, lists and records checked, paging
 * read from `page_info`. Every `data` field is `unknown` until one of these has looked at it.
 */

/** `page_info` {page, page_size, total_number, total_page}; without it, a full page means "maybe more". */
export function hasMorePages(info: unknown, page: number, rows: number, pageSize: number): boolean {
  if (rows === 0) return false
  if (isRecord(info)) {
    const totalPage = Number(info['total_page'])
    if (Number.isFinite(totalPage)) return page < totalPage
    const total = Number(info['total_number'])
    if (Number.isFinite(total)) return page * pageSize < total
  }
  return rows >= pageSize
}

/** The test lead's id: `meta_data.lead_id` of `{lead_data, meta_data}` (maybe under `data.lead`). */
export function mockLeadId(data: Record<string, unknown>): string | null {
  const lead = isRecord(data['lead']) ? data['lead'] : data
  const meta = isRecord(lead['meta_data']) ? lead['meta_data'] : {}
  return idOf(meta['lead_id']) ?? idOf(lead['lead_id'])
}

/** An id as a string: strings as they are (big ones were quoted by the parser), safe integers printed. */
export function idOf(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() || null
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v)
  return null
}

export function textOf(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() || null
  if (typeof v === 'number') return String(v)
  return null
}

export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : []
}

export function records(v: unknown): Array<Record<string, unknown>> {
  return list(v).filter(isRecord)
}

export function nonEmpty(v: string | null): v is string {
  return v !== null && v !== ''
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
