import t from 'tap'
import { createTikTokLimiter } from '../../src/tiktok-business/limiter.js'

/** Largest number of `starts` inside any window [s, s + windowMs) that opens at a start. */
function maxInWindow(starts: number[], windowMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b)
  let max = 0
  let lo = 0
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[hi] as number) - (sorted[lo] as number) >= windowMs) lo++
    max = Math.max(max, hi - lo + 1)
  }
  return max
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('no rolling window is exceeded when the per-minute cap binds', async (t) => {
  // 4 per 100 ms would allow 40 per second; the "minute" (1 s here) allows 10.
  const limiter = createTikTokLimiter({ perSecond: 4, perMinute: 10, secondMs: 100, minuteMs: 1000 })
  t.teardown(() => limiter.close())
  const starts: number[] = []
  const tasks = Array.from({ length: 24 }, (_, i) =>
    limiter.run(async () => {
      starts.push(Date.now())
      await sleep(i % 3 === 0 ? 150 : 5) // some calls outlive their window
      return i
    }),
  )
  t.ok(limiter.pending() > 0, 'calls wait for a slot')
  const results = await Promise.all(tasks)
  t.same(
    results,
    Array.from({ length: 24 }, (_, i) => i),
    'each call gets its own result, in order',
  )
  t.equal(starts.length, 24)
  t.ok(maxInWindow(starts, 100) <= 4, `short window: ${maxInWindow(starts, 100)} <= 4`)
  t.ok(maxInWindow(starts, 1000) <= 10, `long window: ${maxInWindow(starts, 1000)} <= 10`)
  t.equal(limiter.pending(), 0)
})

t.test('no rolling window is exceeded when the per-second cap binds', async (t) => {
  const limiter = createTikTokLimiter({ perSecond: 3, perMinute: 100, secondMs: 100, minuteMs: 1000 })
  t.teardown(() => limiter.close())
  const starts: number[] = []
  await Promise.all(
    Array.from({ length: 15 }, () =>
      limiter.run(async () => {
        starts.push(Date.now())
      }),
    ),
  )
  t.ok(maxInWindow(starts, 100) <= 3, `short window: ${maxInWindow(starts, 100)} <= 3`)
  // 15 calls at 3 per 100 ms need at least 400 ms.
  const span = Math.max(...starts) - Math.min(...starts)
  t.ok(span >= 390, `calls were spread out (${span} ms)`)
})

t.test('a failing call rejects only its own promise', async (t) => {
  const limiter = createTikTokLimiter({ perSecond: 10, perMinute: 100, secondMs: 50, minuteMs: 500 })
  t.teardown(() => limiter.close())
  const a = limiter.run(async () => {
    throw new Error('boom')
  })
  const b = limiter.run(async () => 'ok')
  await t.rejects(a, /boom/)
  t.equal(await b, 'ok')
})

t.test('calls run concurrently; only their starts are paced', async (t) => {
  const limiter = createTikTokLimiter({ perSecond: 5, perMinute: 100, secondMs: 100, minuteMs: 1000 })
  t.teardown(() => limiter.close())
  let running = 0
  let peak = 0
  await Promise.all(
    Array.from({ length: 5 }, () =>
      limiter.run(async () => {
        running++
        peak = Math.max(peak, running)
        await sleep(50)
        running--
      }),
    ),
  )
  t.equal(peak, 5)
})

t.test('close rejects the waiting calls and refuses new ones; bad options throw', async (t) => {
  const limiter = createTikTokLimiter({ perSecond: 1, perMinute: 10 })
  const first = limiter.run(async () => 'ran')
  const waiting = limiter.run(async () => 'never')
  t.equal(await first, 'ran')
  t.equal(limiter.pending(), 1)
  limiter.close()
  await t.rejects(waiting, /closed/)
  t.equal(limiter.pending(), 0)
  await t.rejects(
    limiter.run(async () => 1),
    /closed/,
  )
  t.throws(() => createTikTokLimiter({ perSecond: 0 }), RangeError)
})
