import type { Clock, Timer } from '../src/clock.js'

/**
 * A manual clock for `buildApp({ clock })`: time moves only on `advance`, which fires the timers
 * that fall due in order (a timer set by a firing timer runs too when it falls inside the step).
 */
export interface ManualClock extends Clock {
  advance(ms: number): Promise<void>
  /** timers still waiting */
  readonly pending: number
}

export function manualClock(start = Date.UTC(2026, 0, 15, 12, 0, 0)): ManualClock {
  let at = start
  let seq = 0
  const timers = new Map<number, { due: number; fn: () => void }>()
  const setTimer = (fn: () => void, ms: number): Timer => {
    const id = seq++
    timers.set(id, { due: at + Math.max(0, ms), fn })
    return { cancel: () => timers.delete(id) }
  }
  return {
    now: () => at,
    setTimer,
    sleep: (ms) => new Promise<void>((resolve) => setTimer(resolve, ms)),
    get pending() {
      return timers.size
    },
    async advance(ms) {
      const end = at + ms
      for (;;) {
        let next: [number, { due: number; fn: () => void }] | undefined
        for (const entry of timers) if (entry[1].due <= end && (!next || entry[1].due < next[1].due)) next = entry
        if (!next) break
        timers.delete(next[0])
        at = Math.max(at, next[1].due)
        next[1].fn()
        // let promise chains started by the timer run before the next one fires
        await new Promise((resolve) => setImmediate(resolve))
      }
      at = end
    },
  }
}
