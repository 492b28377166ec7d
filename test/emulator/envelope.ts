/**
 * The `time` block every REST answer carries.
 * @see api-reference/data-types.md#time (b24restdocs)
 * @see limits.md "Resource Intensity Limits" (operating, operating_reset_at)
 */
import { isoDate } from './methods/crm-entity-spec.js'

export interface TimeBlock {
  start: number
  finish: number
  duration: number
  processing: number
  date_start: string
  date_finish: string
  operating_reset_at?: number
  operating?: number
}

/**
 * `operating`: the method's real sum and reset time (operating.ts); without it (the outer block
 * of a batch, which is not counted: the batch.md examples show no operating keys) none is printed.
 */
export function timeBlock(
  startMs: number,
  finishMs: number,
  operating?: { operating: number; operating_reset_at: number },
): TimeBlock {
  const duration = Math.max(0, finishMs - startMs) / 1000
  const block: TimeBlock = {
    start: startMs / 1000,
    finish: finishMs / 1000,
    duration,
    processing: duration,
    date_start: isoDate(startMs),
    date_finish: isoDate(finishMs),
  }
  if (operating) {
    block.operating_reset_at = operating.operating_reset_at
    block.operating = operating.operating
  }
  return block
}
