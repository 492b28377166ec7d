/**
 * The Events API client against the TikTok emulator over HTTP:
 * - crm/list goes through the app-wide limiter; event/track never does (its own quota, its own
 *   limiter), so a busy outbox cannot starve lead downloads;
 * - the request is TikTok's CRM shape: event_source crm, the set id, lead {lead_id,
 *   lead_event_source}, the hashes only when there are some, ids as strings;
 * - event/track's own quota answered 40100: retried with backoff, then it passes (no hammering:
 *   the retry waits);
 * - more than 1,000 events is refused before anything is sent.
 */
import t, { type Test } from 'tap'
import { TikTokApiError } from '../../src/errors.js'
import { createEventsApi, type CrmEvent } from '../../src/tiktok-business/events-api.js'
import { createTikTokLimiter, type TikTokLimiter } from '../../src/tiktok-business/limiter.js'
import { APP, connect, fakeClock, startTikTok } from '../tiktok-emulator/helpers.js'

/** A limiter that lets everything through and counts what it let through. */
function countingLimiter(t: { teardown(fn: () => unknown): void }): TikTokLimiter & { runs: number } {
  const inner = createTikTokLimiter({ perSecond: 1000, perMinute: 100_000 })
  t.teardown(() => inner.close())
  const out = {
    runs: 0,
    run<T>(fn: () => Promise<T>): Promise<T> {
      out.runs++
      return inner.run(fn)
    },
    pending: () => inner.pending(),
    close: () => inner.close(),
  }
  return out
}

async function setup(t: Test, eventQuota?: { perSecond: number; perMinute: number }) {
  // TikTok's time and the client's waits on one manual clock: a retry's wait moves TikTok's quota window.
  const clock = fakeClock()
  const slept: number[] = []
  const tt = await startTikTok(t, { now: clock.now, ...(eventQuota ? { eventQuota } : {}) })
  const adv = tt.addAdvertiser({ name: 'Acme' })
  const { pageId } = tt.addForm(adv.id, { title: 'Spring' })
  const { leadId } = tt.submitLead(pageId, { name: 'Ann', email: 'ann@example.com' })
  const { eventSetId } = tt.addCrmEventSet(adv.id, { name: 'Bitrix24' })
  const token = await connect(tt, [adv.id])
  const appWide = countingLimiter(t)
  const trackLimiter = countingLimiter(t)
  const api = createEventsApi({
    apiUrl: tt.url,
    ...APP,
    timeoutMs: 3000,
    limiter: appWide,
    trackLimiter,
    retry: { attempts: 5, baseMs: 400, maxMs: 2000 },
    clock: {
      now: clock.now,
      sleep: async (ms) => {
        slept.push(ms)
        clock.advance(ms)
      },
      setTimer: () => ({ cancel: () => undefined }),
    },
  })
  const event = (over: Partial<CrmEvent> = {}): CrmEvent => ({
    event: 'Qualified',
    eventTime: Math.floor(clock.now() / 1000) - 60,
    eventId: `${leadId}-Qualified`,
    leadId,
    email: [],
    phone: [],
    ...over,
  })
  return { tt, adv, leadId, eventSetId, token, api, appWide, trackLimiter, event, slept }
}

t.test('crm/list through the app-wide limiter, event/track through its own', async (t) => {
  const { tt, adv, leadId, eventSetId, token, api, appWide, trackLimiter, event } = await setup(t)
  t.same(await api.listCrmEventSets(token, adv.id), [{ eventSetId, name: 'Bitrix24' }])
  t.equal(appWide.runs, 1)
  await api.track(token, eventSetId, [
    event(),
    event({ event: 'Contacted', eventId: `${leadId}-Contacted`, email: ['a'.repeat(64)] }),
  ])
  t.equal(appWide.runs, 1, 'event/track spent nothing of the app-wide limiter')
  t.equal(trackLimiter.runs, 1)
  const { events } = tt.trackedEvents(eventSetId)
  t.match(events, [
    { event: 'Qualified', leadId, leadEventSource: 'Bitrix24', email: [], phone: [], matched: true },
    { event: 'Contacted', email: ['a'.repeat(64)] },
  ])
  const body = tt.calls.find((c) => c.path.endsWith('/event/track/'))
  t.ok(body, 'the call is recorded')
})

t.test("event/track's own quota: a throttled request is retried after a wait, then passes", async (t) => {
  const { tt, eventSetId, token, api, event, slept } = await setup(t, { perSecond: 1, perMinute: 1000 })
  await api.track(token, eventSetId, [event({ eventId: 'a' })])
  await api.track(token, eventSetId, [event({ eventId: 'b' })])
  t.equal(tt.trackedEvents(eventSetId).events.length, 2, 'both landed')
  t.ok(tt.counters.eventTrackThrottled >= 1, 'the second was throttled first')
  t.ok(slept.length >= 1 && slept.every((ms) => ms >= 200), 'and waited (backoff) before each new try')
})

t.test('more than 1,000 events, or a refusal: nothing is sent, the kind says why', async (t) => {
  const { tt, eventSetId, token, api, event } = await setup(t)
  await t.rejects(
    api.track(
      token,
      eventSetId,
      Array.from({ length: 1001 }, (_, i) => event({ eventId: `e${i}` })),
    ),
    RangeError,
  )
  const refused = await api.track(token, '7299999999999999999', [event()]).catch((e: unknown) => e)
  t.ok(refused instanceof TikTokApiError)
  t.match(refused, { kind: 'bad_request', code: 40002 })
  t.notMatch((refused as Error).message, token, 'the token is never quoted')
  t.equal(tt.trackedEvents(eventSetId).events.length, 0)
})
