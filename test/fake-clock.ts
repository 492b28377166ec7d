/**
 * A manual clock for the emulators' own tests (test/emulator, test/tiktok-emulator): neutral
 * ground that imports nothing, so the two emulators stay independent of each other and of src/.
 */

export interface Clock {
  now: () => number
  advance(ms: number): void
}

export function fakeClock(start = Date.UTC(2025, 0, 15, 12, 0, 0)): Clock {
  let at = start
  return {
    now: () => at,
    advance: (ms) => {
      at += ms
    },
  }
}
