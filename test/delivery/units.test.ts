import t from 'tap'
import { backoffDelay } from '../../src/delivery/backoff.js'
import { PortalQueues } from '../../src/bitrix24/portal-queues.js'
import { decide } from '../../src/delivery/dedup.js'

t.test('backoff doubles, jitters within [half, full], and caps', async (t) => {
  const opts = { baseMs: 1000, maxMs: 60_000 }
  t.equal(
    backoffDelay(1, opts, () => 0),
    500,
  )
  t.equal(
    backoffDelay(1, opts, () => 1),
    1000,
  )
  t.equal(
    backoffDelay(3, opts, () => 1),
    4000,
  )
  t.equal(
    backoffDelay(30, opts, () => 1),
    60_000,
  )
  t.equal(
    backoffDelay(30, opts, () => 0),
    30_000,
  )
})

t.test('a portal queue starts at most `rate` tasks per rolling second; portals are independent', async (t) => {
  const q = new PortalQueues((m) => (m === 'ent' ? 5 : 2))
  t.teardown(() => q.close())
  const starts: Record<string, number[]> = { a: [], ent: [] }
  const t0 = Date.now()
  await Promise.all([
    ...Array.from({ length: 5 }, () => q.run('a', async () => void starts.a!.push(Date.now() - t0))),
    ...Array.from({ length: 5 }, () => q.run('ent', async () => void starts.ent!.push(Date.now() - t0))),
  ])
  // Lower bounds and order only (a slow machine can delay a start, never hasten one).
  const a = starts.a!
  t.ok(
    starts.ent!.every((s) => s < a[2]!),
    'enterprise portal: all 5 started before the 2/s portal may start its third',
  )
  t.ok(
    a[2]! - a[0]! >= 990 && a[4]! - a[2]! >= 990,
    `2/s portal: the third start waits a second, the fifth another (${a.join(',')})`,
  )
})

t.test('dedup decisions', async (t) => {
  const m = { leadIds: [7], contactIds: [3] }
  t.same(decide('off', m), { action: 'add' })
  t.same(decide('skip', undefined), { action: 'add' })
  t.same(decide('skip', m), { action: 'skip', existingLeadId: 7, duplicateOf: 'lead #7, contact #3' })
  t.same(decide('update', m), { action: 'update', existingLeadId: 7, duplicateOf: 'lead #7, contact #3' })
  t.same(decide('update', { leadIds: [], contactIds: [3] }), { action: 'add', note: 'contact #3' })
  t.same(decide('link', m), { action: 'add', note: 'lead #7, contact #3' })
})

t.test(
  'a rate raised from 2 to 5 mid-backlog: never more starts in a rolling second than the rate at the time',
  async (t) => {
    let rate = 2
    const q = new PortalQueues(() => rate)
    t.teardown(() => q.close())
    const starts: Array<{ at: number; rate: number }> = []
    const all = Array.from({ length: 14 }, () => q.run('p', async () => void starts.push({ at: Date.now(), rate })))
    await new Promise((resolve) => setTimeout(resolve, 1200))
    rate = 5
    q.rateChanged('p')
    await Promise.all(all)
    // Starts are recorded inside the queue's own start step, so machine load can only spread them out.
    const worst = (limit: number) =>
      Math.max(...starts.map((s, i) => starts.filter((o, j) => j >= i && o.at - s.at < 1000 && o.rate <= limit).length))
    t.ok(worst(2) <= 2, `at 2/s at most 2 starts in any second (${worst(2)})`)
    t.ok(worst(5) <= 5, `after the change at most 5 in any second (${worst(5)})`)
    t.ok(starts.filter((s) => s.rate === 5).length >= 5, 'the backlog went on at the new rate')
  },
)
