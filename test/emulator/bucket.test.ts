/**
 * The leaky bucket, made deterministic by an injected clock: 50 requests pass at once, the 51st
 * gets 503 QUERY_LIMIT_EXCEEDED, one second later two more pass; a batch counts once; the
 * enterprise plan has 250 and 5/s; portals have separate buckets.
 * @see limits.md "Request Rate Limits"
 */
import t from 'tap'
import type { Portal } from './app.js'
import { callJson, fakeClock, startEmulator } from './helpers.js'

async function burst(portal: Portal, token: string, n: number): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < n; i++) statuses.push((await callJson(portal, 'profile', {}, token)).status)
  return statuses
}

t.test('50 pass, the 51st is refused, 1 s later two more pass', async (t) => {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now })
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()

  const first = await burst(portal, access_token, 50)
  t.ok(first.every((s) => s === 200), '50 requests pass')
  const refused = await callJson(portal, 'profile', {}, access_token)
  t.match(refused, { status: 503, body: { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' } })
  t.equal(emu.counters.rateLimited, 1)

  clock.advance(1000)
  t.same(await burst(portal, access_token, 3), [200, 200, 503], 'two drained, the third is refused')
  t.equal(emu.counters.rateLimited, 2)
  t.equal(emu.counters.restRequests, 54)

  clock.advance(500)
  t.same(await burst(portal, access_token, 2), [200, 503], 'drain is continuous: 0.5 s frees one')
})

t.test('a batch of 50 commands counts once', async (t) => {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now })
  const portal = emu.createPortal()
  const { access_token } = portal.issueToken()
  await burst(portal, access_token, 49)
  const cmd: Record<string, string> = {}
  for (let i = 0; i < 50; i++) cmd[`c${i}`] = 'profile'
  const batch = await callJson(portal, 'batch', { halt: 0, cmd }, access_token)
  t.equal(batch.status, 200)
  t.equal(Object.keys(batch.body.result.result).length, 50)
  t.equal((await callJson(portal, 'profile', {}, access_token)).status, 503, 'the batch took the 50th slot only')
})

t.test('auth failures do not fill the bucket', async (t) => {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now })
  const portal = emu.createPortal()
  for (let i = 0; i < 60; i++) await callJson(portal, 'profile', {}, 'forged')
  t.equal(portal.bucketLevel(), 0)
})

t.test('plans and overrides; one bucket per portal', async (t) => {
  const clock = fakeClock()
  const emu = await startEmulator(t, { now: clock.now })
  const enterprise = emu.createPortal({ plan: 'enterprise' })
  const tiny = emu.createPortal({ burst: 3, drainRate: 1 })
  const other = emu.createPortal()

  const ent = enterprise.issueToken()
  const statuses = await burst(enterprise, ent.access_token, 251)
  t.equal(statuses.filter((s) => s === 200).length, 250, 'enterprise bursts to 250')
  t.equal(statuses.at(-1), 503)
  clock.advance(1000)
  t.same(await burst(enterprise, ent.access_token, 6), [200, 200, 200, 200, 200, 503], 'and drains 5/s')

  const small = tiny.issueToken()
  t.same(await burst(tiny, small.access_token, 4), [200, 200, 200, 503], 'per-portal override')

  const own = other.issueToken()
  t.equal((await callJson(other, 'profile', {}, own.access_token)).status, 200, 'other portals are unaffected')
})
