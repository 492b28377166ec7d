/**
 * The app's one source of time. Everything that stamps a row, schedules a retry or checks an
 * expiry asks `app.clock`, so tests can hand `buildApp` a fake one (test/app-clock.ts) and run
 * backoff, reconciliation waits and session expiry without waiting for them.
 */
export interface Timer {
  cancel(): void
}

export interface Clock {
  /** milliseconds since the epoch, like Date.now() */
  now(): number
  /** runs `fn` once after `ms` of this clock's time; never keeps the process alive on its own */
  setTimer(fn: () => void, ms: number): Timer
  /** resolves after `ms` of this clock's time */
  sleep(ms: number): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const handle = setTimeout(fn, ms)
    handle.unref()
    return { cancel: () => clearTimeout(handle) }
  },
  sleep: (ms) =>
    new Promise((resolve) => {
      setTimeout(resolve, ms)
    }),
}

/** ISO-8601 text of the clock's now, the form SQLite columns store */
export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString()
}
