/**
 * The `time` block every REST answer carries.
 * @see api-reference/data-types.md#time (b24restdocs)
 * @see limits.md "Resource Intensity Limits" (operating, operating_reset_at)
 */
import { isoDate } from './methods/crm-entity.js'

export interface TimeBlock {
  start: number
  finish: number
  duration: number
  processing: number
  date_start: string
  date_finish: string
  operating_reset_at: number
  operating: number
}

export function timeBlock(startMs: number, finishMs: number): TimeBlock {
  const duration = Math.max(0, finishMs - startMs) / 1000
  return {
    start: startMs / 1000,
    finish: finishMs / 1000,
    duration,
    processing: duration,
    date_start: isoDate(startMs),
    date_finish: isoDate(finishMs),
    // Ten one-minute baskets: the oldest leaves the sum ten minutes after it opened.
    operating_reset_at: Math.floor(startMs / 1000) + 600,
    operating: duration,
  }
}
