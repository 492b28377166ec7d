/**
 * CRM event sets and the Events API, over real HTTP:
 * - `/crm/list/`: the advertiser's sets only, `name` / `event_set_ids` filters, the token must
 *   be granted the advertiser.
 * - `/event/track/` (event_source crm): each refusal (unknown set, wrong source, foreign set,
 *   over 1,000 events, a required field missing, unhashed e-mail, milliseconds), all-or-nothing;
 *   deduplication on event_source_id + event_id + event (a repeat is code 0 and a duplicate,
 *   counted once); events over 28 days old accepted but not matched; its own quota; outages.
 * @see bububa model/event/track.go, model/event/crm_list.go; stape-io/tiktok-tag issue #33 (40002
 *   "Invalid value for event_source_id"); reference/tiktok.md §8
 */
import { createHash } from 'node:crypto'
import t from 'tap'
import type { TikTokEmulator } from './index.js'
import { call, connect, fakeClock, startTikTok } from './helpers.js'

const sha = (value: string) => createHash('sha256').update(value).digest('hex')
const DAY_S = 86_400

async function setup(t: Parameters<typeof startTikTok>[0], opts: Parameters<typeof startTikTok>[1] = {}) {
  const clock = fakeClock()
  const tt = await startTikTok(t, { now: clock.now, ...opts })
  const adv = tt.addAdvertiser({ name: 'Acme' })
  const other = tt.addAdvertiser({ name: 'Other' })
  const { pageId } = tt.addForm(adv.id, { title: 'Spring' })
  const { leadId } = tt.submitLead(pageId, { name: 'Ann', email: 'ann@example.com' })
  const { eventSetId } = tt.addCrmEventSet(adv.id, { name: 'Bitrix24' })
  const foreignSet = tt.addCrmEventSet(other.id, { name: 'Other CRM' }).eventSetId
  const token = await connect(tt, [adv.id])
  const nowS = () => Math.floor(clock.now() / 1000)
  const event = (over: Record<string, unknown> = {}) => ({
    event: 'Qualified',
    event_time: nowS() - 60,
    event_id: `${leadId}_Qualified`,
    lead: { lead_id: leadId, lead_event_source: 'Bitrix24' },
    user: { email: [sha('ann@example.com')], phone: [sha('+15555550123')] },
    ...over,
  })
  const track = (data: unknown[], body: Record<string, unknown> = {}, tok = token) =>
    call(
      tt,
      'POST',
      'event/track/',
      { event_source: 'crm', event_source_id: eventSetId, data, ...body },
      { token: tok },
    )
  return { tt, clock, adv, other, leadId, eventSetId, foreignSet, token, event, track, nowS }
}

function count(tt: TikTokEmulator, id: string) {
  const { events, duplicates } = tt.trackedEvents(id)
  return { events: events.length, duplicates: duplicates.length }
}

t.test('crm/list: own sets, filters, permission', async (t) => {
  const { tt, adv, eventSetId, token } = await setup(t)
  const second = tt.addCrmEventSet(adv.id, { name: 'Second' }).eventSetId
  const list = await call(tt, 'GET', 'crm/list/', { advertiser_id: adv.id }, { token })
  t.equal(list.body.code, 0)
  t.same(
    list.body.data.crm_event_sets.map((s: any) => [s.event_set_id, s.name]),
    [
      [eventSetId, 'Bitrix24'],
      [second, 'Second'],
    ],
    "the advertiser's sets only",
  )
  t.match(list.body.data.crm_event_sets[0].create_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)

  const byName = await call(tt, 'GET', 'crm/list/', { advertiser_id: adv.id, name: 'Second' }, { token })
  t.same(
    byName.body.data.crm_event_sets.map((s: any) => s.event_set_id),
    [second],
  )
  const byIds = await call(tt, 'GET', 'crm/list/', { advertiser_id: adv.id, event_set_ids: [eventSetId] }, { token })
  t.same(
    byIds.body.data.crm_event_sets.map((s: any) => s.event_set_id),
    [eventSetId],
  )
  const none = await call(tt, 'GET', 'crm/list/', { advertiser_id: adv.id, name: 'Nope' }, { token })
  t.same(none.body.data.crm_event_sets, [])

  t.equal((await call(tt, 'GET', 'crm/list/', {}, { token })).body.code, 40002, 'advertiser_id required')
  t.equal((await call(tt, 'GET', 'crm/list/', { advertiser_id: adv.id })).body.code, 40104, 'no token')
})

t.test('crm/list: a token not granted the advertiser gets 40001', async (t) => {
  const { tt, other, token } = await setup(t)
  const res = await call(tt, 'GET', 'crm/list/', { advertiser_id: other.id }, { token })
  t.equal(res.body.code, 40001)
  t.same(res.body.data, {})
})

t.test('event/track: an accepted CRM event, readable for assertions', async (t) => {
  const { tt, clock, adv, leadId, eventSetId, event, track } = await setup(t)
  const res = await track([event()])
  t.equal(res.status, 200)
  t.match(res.body, { code: 0, message: 'OK', data: {} })
  const { events, duplicates } = tt.trackedEvents(eventSetId)
  t.same(duplicates, [])
  t.same(events, [
    {
      eventSetId,
      advertiserId: adv.id,
      event: 'Qualified',
      eventTime: Math.floor(clock.now() / 1000) - 60,
      eventId: `${leadId}_Qualified`,
      leadId,
      leadEventSource: 'Bitrix24',
      email: [sha('ann@example.com')],
      phone: [sha('+15555550123')],
      testEventCode: null,
      receivedAt: clock.now(),
      matched: true,
      reason: null,
    },
  ])
  t.same(tt.trackedEvents(adv.id), { events, duplicates: [] }, 'by advertiser: all its sets')
  t.throws(() => tt.trackedEvents('nope'), /neither an event set nor an advertiser/)
  t.equal(tt.calls.at(-1)?.path, '/open_api/v1.3/event/track/')
})

t.test('event/track refusals: nothing is recorded', async (t) => {
  const { tt, eventSetId, foreignSet, event, track } = await setup(t)
  const refusals: Array<[string, Promise<any>, number, RegExp]> = [
    ['unknown event set', track([event()], { event_source_id: '7299999999999999999' }), 40002, /event_source_id/],
    ['a CRM set under another source', track([event()], { event_source: 'web' }), 40002, /event_source_id/],
    ['an unknown source', track([event()], { event_source: 'crmx' }), 40002, /event_source/],
    ['no event_source', track([event()], { event_source: undefined }), 40002, /event_source/],
    ['a set of an advertiser the token lacks', track([event()], { event_source_id: foreignSet }), 40001, /./],
    ['empty data', track([]), 40002, /data/],
    [
      'more than 1,000 events',
      track(Array.from({ length: 1001 }, (_, i) => event({ event_id: `e${i}` }))),
      40002,
      /1000/,
    ],
    ['no event', track([event({ event: undefined })]), 40002, /data\[0\]\.event\b/],
    ['no event_time', track([event({ event_time: undefined })]), 40002, /data\[0\]\.event_time/],
    ['no event_id', track([event({ event_id: '' })]), 40002, /data\[0\]\.event_id/],
    ['no lead.lead_id', track([event({ lead: { lead_event_source: 'Bitrix24' } })]), 40002, /data\[0\]\.lead\.lead_id/],
    ['no lead at all', track([event({ lead: undefined })]), 40002, /data\[0\]\.lead\.lead_id/],
    [
      'one bad event refuses the batch',
      track([event(), event({ event_id: 'x', event: undefined })]),
      40002,
      /data\[1\]\.event\b/,
    ],
    [
      'a lead id as a JSON number',
      track([event({ lead: { lead_id: Number('7500000000000000001') } })]),
      40002,
      /data\[0\]\.lead\.lead_id: not a valid string/,
    ],
    [
      'an event_id as a JSON number',
      track([event({ event_id: 42 })]),
      40002,
      /data\[0\]\.event_id: not a valid string/,
    ],
    ['an unhashed e-mail', track([event({ user: { email: ['ann@example.com'] } })]), 40002, /user\.email/],
    ['an unhashed phone', track([event({ user: { phone: '+15555550123' } })]), 40002, /user\.phone/],
    ['milliseconds for seconds', track([event({ event_time: Date.now() })]), 40002, /event_time/],
    ['event_time as text', track([event({ event_time: '1736942400' })]), 40002, /event_time/],
  ]
  for (const [name, pending, code, message] of refusals) {
    const res = await pending
    t.equal(res.body.code, code, name)
    t.match(res.body.message, message, `${name}: the message names it`)
    t.same(res.body.data, {})
  }
  const noToken = await call(tt, 'POST', 'event/track/', { event_source: 'crm', event_source_id: eventSetId, data: [] })
  t.equal(noToken.body.code, 40104)
  t.same(count(tt, eventSetId), { events: 0, duplicates: 0 })
  t.equal(tt.calls.filter((c) => c.code === 0 && c.path.endsWith('/event/track/')).length, 0)
})

t.test('event/track: exactly 1,000 events are taken', async (t) => {
  const { tt, eventSetId, event, track } = await setup(t)
  const res = await track(Array.from({ length: 1000 }, (_, i) => event({ event_id: `e${i}` })))
  t.equal(res.body.code, 0)
  t.equal(count(tt, eventSetId).events, 1000)
})

t.test('dedup: event_source_id + event_id + event', async (t) => {
  const { tt, adv, leadId, eventSetId, event, track } = await setup(t)
  const second = tt.addCrmEventSet(adv.id, { name: 'Second' }).eventSetId
  t.equal((await track([event()])).body.code, 0)
  const again = await track([event({ event_time: event().event_time + 5 })])
  t.equal(again.body.code, 0, 'a resend is accepted')
  t.same(count(tt, eventSetId), { events: 1, duplicates: 1 }, 'and counted once')
  t.equal(tt.trackedEvents(eventSetId).events[0]?.eventTime, event().event_time, 'the first arrival is kept')

  t.equal((await track([event(), event()])).body.code, 0, 'twice in one request')
  t.same(count(tt, eventSetId), { events: 1, duplicates: 3 })

  await track([event({ event: 'Converted' })])
  t.same(count(tt, eventSetId), { events: 2, duplicates: 3 }, 'same event_id, another event: a new event')
  await track([event({ event_id: `${leadId}_Qualified_2` })])
  t.same(count(tt, eventSetId), { events: 3, duplicates: 3 }, 'another event_id: a new event')
  await track([event()], { event_source_id: second })
  t.same(count(tt, second), { events: 1, duplicates: 0 }, 'another event set: a new event')
  t.same(count(tt, adv.id), { events: 4, duplicates: 3 })
})

t.test('28 days: older events are accepted but not matched; unknown leads neither', async (t) => {
  const { tt, eventSetId, event, track, nowS } = await setup(t)
  const res = await track([
    event({ event_id: 'edge', event_time: nowS() - 28 * DAY_S }),
    event({ event_id: 'old', event_time: nowS() - 28 * DAY_S - 1 }),
    event({ event_id: 'stranger', lead: { lead_id: '7599999999999999999' } }),
  ])
  t.equal(res.body.code, 0)
  const byId = Object.fromEntries(tt.trackedEvents(eventSetId).events.map((e) => [e.eventId, e]))
  t.match(byId['edge'], { matched: true, reason: null }, 'exactly 28 days still matches')
  t.match(byId['old'], { matched: false, reason: 'too_old' })
  t.match(byId['stranger'], { matched: false, reason: 'unknown_lead' })
})

t.test('test leads match too; test_event_code is kept', async (t) => {
  const { tt, adv, eventSetId, event, track, token } = await setup(t)
  const { pageId } = tt.addForm(adv.id, { title: 'Test form' })
  const mock = await call(tt, 'POST', 'page/lead/mock/create/', { advertiser_id: adv.id, page_id: pageId }, { token })
  t.equal(mock.body.code, 0)
  const testLeadId = mock.body.data.meta_data.lead_id
  t.type(testLeadId, 'string')
  await track([event({ event_id: 'tl', lead: { lead_id: testLeadId } })], { test_event_code: 'TEST123' })
  t.match(tt.trackedEvents(eventSetId).events[0], { matched: true, testEventCode: 'TEST123' })
})

t.test('own quota: a throttled app-wide quota does not stop event/track, nor does event/track use it', async (t) => {
  const { tt, clock, adv, eventSetId, event, track, token } = await setup(t, {
    quota: { perSecond: 2, perMinute: 100 },
    eventQuota: { perSecond: 3, perMinute: 1000 },
  })
  clock.advance(1000) // connect() used the app-wide quota
  const list = () => call(tt, 'GET', 'crm/list/', { advertiser_id: adv.id }, { token })
  t.equal((await list()).body.code, 0)
  t.equal((await list()).body.code, 0)
  t.equal((await list()).body.code, 40100, 'the app-wide quota is spent')
  for (let i = 0; i < 3; i++) t.equal((await track([event({ event_id: `q${i}` })])).body.code, 0, `event ${i} passes`)
  const throttled = await track([event({ event_id: 'q3' })])
  t.equal(throttled.body.code, 40100, 'its own quota has a limit too')
  t.same(throttled.body.data, {})
  t.same(tt.counters, { throttled: 1, eventTrackThrottled: 1 })
  t.equal(count(tt, eventSetId).events, 3, 'a throttled request records nothing')

  clock.advance(1000)
  for (let i = 0; i < 2; i++) t.equal((await list()).body.code, 0, 'event/track used none of the app-wide quota')
  t.equal((await track([event({ event_id: 'q3' })])).body.code, 0)
})

t.test('the default event quota is far above the app-wide 10/s', async (t) => {
  const { tt, event, track, eventSetId } = await setup(t, { quota: { perSecond: 10, perMinute: 600 } })
  for (let i = 0; i < 30; i++) t.equal((await track([event({ event_id: `d${i}` })])).body.code, 0)
  t.equal(count(tt, eventSetId).events, 30)
  t.equal(tt.counters.eventTrackThrottled, 0)
})

t.test('outage: 5xx and resets on event/track, other endpoints unaffected, then back', async (t) => {
  const { tt, adv, eventSetId, event, track, token } = await setup(t)
  tt.faults.outage(503, { endpoint: 'event/track' })
  for (let i = 0; i < 2; i++) {
    const res = await track([event()])
    t.equal(res.status, 503)
    t.equal(res.text, 'Service Unavailable')
  }
  t.equal((await call(tt, 'GET', 'crm/list/', { advertiser_id: adv.id }, { token })).body.code, 0, 'crm/list is up')
  t.same(count(tt, eventSetId), { events: 0, duplicates: 0 })
  t.same(
    tt.calls.filter((c) => c.fault !== undefined).map((c) => [c.code, c.fault]),
    [
      [-1, 503],
      [-1, 503],
    ],
  )

  tt.faults.clear()
  tt.faults.outage(500)
  t.equal((await call(tt, 'GET', 'crm/list/', { advertiser_id: adv.id }, { token })).status, 500, 'everything down')
  tt.faults.clear()

  tt.faults.failNext(1, 'reset', { endpoint: '/open_api/v1.3/event/track/' })
  await t.rejects(track([event()]), 'a reset is a network error')
  t.same(count(tt, eventSetId), { events: 0, duplicates: 0 }, 'nothing ran')

  tt.faults.failNext(1, 'system-error')
  const system = await track([event()])
  t.match(system, { status: 200, body: { code: 50000, data: {} } })
  t.same(count(tt, eventSetId), { events: 0, duplicates: 0 })

  tt.faults.failNext(1, 'reset-after-processing', { endpoint: 'event/track' })
  await t.rejects(track([event()]), 'the answer is lost')
  t.same(count(tt, eventSetId), { events: 1, duplicates: 0 }, 'but the event landed')
  t.equal((await track([event()])).body.code, 0, 'TikTok is back: the resend passes')
  t.same(count(tt, eventSetId), { events: 1, duplicates: 1 }, 'and is counted once')
})

t.test('addCrmEventSet checks its input', async (t) => {
  const { tt, adv } = await setup(t)
  t.throws(() => tt.addCrmEventSet('7000', { name: 'x' }), /unknown advertiser/)
  t.throws(() => tt.addCrmEventSet(adv.id, { name: '' }), /1-40/)
  t.throws(() => tt.addCrmEventSet(adv.id, { name: 'x'.repeat(41) }), /1-40/)
  for (let i = 1; i < 50; i++) tt.addCrmEventSet(adv.id, { name: `Set ${i}` })
  t.throws(() => tt.addCrmEventSet(adv.id, { name: 'Set 51' }), /at most 50/)
})
