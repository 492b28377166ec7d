/**
 * The speed-to-lead options through the settings API (validated, stored, in the state and the
 * options answer) and the time to first contact: per lead in the delivery log and as a median
 * per day, today and week in /stats (first_contact_at is set by the quality part from offline
 * events; here it is written directly).
 */
import { sql } from 'kysely'
import t from 'tap'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { api, installedPortal, openTab, startApp, startEmulator, waitFor } from '../helpers.js'

const base = { dedup_policy: 'off', rate_per_s: 2, default_country: null, verify_mode: 'log_only' }

t.test('options: defaults off, saved, validated with plain reasons, unchanged when left out', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const page = await openTab(url, portal)
  const a = api(url, page)
  t.match((await (await a.get('state')).json()).options, {
    notify_responsible: false,
    todo_minutes: null,
    todo_pings: [0, 15],
    alert_silence_hours: null,
  })
  const saved = await a.post('options', {
    ...base,
    notify_responsible: true,
    todo_minutes: 20,
    todo_pings: [30, 0, 5],
    alert_silence_hours: 6,
  })
  t.equal(saved.status, 200)
  t.match((await saved.json()).options, {
    notify_responsible: true,
    todo_minutes: 20,
    todo_pings: [0, 5, 30],
    alert_silence_hours: 6,
  })
  t.match(await app.settings.find(portal.memberId), { notify_responsible: 1, todo_minutes: 20, todo_pings: '[0,5,30]' })
  const kept = await (await a.post('options', base)).json()
  t.match(kept.options, { notify_responsible: true, todo_minutes: 20, todo_pings: [0, 5, 30] }, 'left out: unchanged')
  const off = await (await a.post('options', { ...base, todo_minutes: null, alert_silence_hours: null })).json()
  t.match(off.options, { todo_minutes: null, alert_silence_hours: null })

  const refused: Array<[Record<string, unknown>, RegExp]> = [
    [{ todo_minutes: 0 }, /todo_minutes: must be at least 1 minute/],
    [{ todo_minutes: 1441 }, /todo_minutes: must be at most 1440 minutes/],
    [{ todo_minutes: 2.5 }, /todo_minutes: must be a whole number of minutes/],
    [{ todo_pings: [0, 0] }, /todo_pings: each reminder only once/],
    [{ todo_pings: [-5] }, /cannot come after the deadline/],
    [{ todo_pings: [1, 2, 3, 4, 5, 6] }, /at most 5 reminders/],
    [{ alert_silence_hours: 0 }, /alert_silence_hours: must be at least 1 hour/],
    [{ alert_silence_hours: 169 }, /at most 168 hours/],
    [{ notify_responsible: 'yes' }, /notify_responsible/],
  ]
  for (const [bad, why] of refused) {
    const r = await a.post('options', { ...base, ...bad })
    t.equal(r.status, 400, JSON.stringify(bad))
    t.match((await r.json()).message, why)
  }
  t.match(await app.settings.find(portal.memberId), { todo_minutes: null }, 'a refused body changed nothing')

  const reader = await openTab(url, portal, 2)
  t.equal((await api(url, reader).post('options', { ...base, todo_minutes: 5 })).status, 403, 'read-only user refused')
})

t.test('time to first contact: per lead, and the median per day, today and week', async (t) => {
  const emu = await startEmulator(t)
  const { app, url, database } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  const leads = Array.from({ length: 4 }, () => sampleLead())
  await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
  await waitFor('4 delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 4)
  const rows = await database.db
    .selectFrom('leads')
    .selectAll()
    .where('member_id', '=', portal.memberId)
    .orderBy('id')
    .execute()
  // Contacted 1, 3 and 10 minutes after delivery; the fourth lead not yet.
  const after = [60_000, 180_000, 600_000]
  for (const [i, ms] of after.entries())
    await database.db
      .updateTable('leads')
      .set({ first_contact_at: rows[i]!.done_at! + ms })
      .where('id', '=', rows[i]!.id)
      .execute()
  const page = await openTab(url, portal)
  const a = api(url, page)
  const log = await (await a.get('leads')).json()
  const byId = new Map(log.leads.map((l: { id: number; firstContactMs: number | null }) => [l.id, l.firstContactMs]))
  t.same(
    rows.map((r) => byId.get(r.id)),
    [60_000, 180_000, 600_000, null],
    'each lead’s own time, null until someone worked it',
  )
  const stats = await (await a.get('stats')).json()
  t.equal(stats.today.medianFirstContactMs, 180_000, 'the median of the worked leads')
  t.equal(stats.week.medianFirstContactMs, 180_000)
  t.equal(stats.days.at(-1).medianFirstContactMs, 180_000, 'today is the last day')
  // A fourth contact, 5 min after: an even count takes the mean of the two middle times.
  await database.db
    .updateTable('leads')
    .set({ first_contact_at: rows[3]!.done_at! + 300_000 })
    .where('id', '=', rows[3]!.id)
    .execute()
  t.equal((await (await a.get('stats')).json()).today.medianFirstContactMs, 240_000, '(3 + 5) / 2 min')
  t.ok(
    stats.days.slice(0, -1).every((d: { medianFirstContactMs: number | null }) => d.medianFirstContactMs === null),
    'no leads, no median on the other days',
  )
  // The median's query reads the partial index, not the whole table.
  const plan = await sql<{ detail: string }>`explain query plan select count(*) from leads
    where member_id = ${portal.memberId} and status = 'delivered' and done_at >= ${0} and done_at < ${Date.now() + 1}
    and first_contact_at is not null`.execute(database.db)
  t.match(plan.rows.map((r) => r.detail).join(' '), /leads_delivered_done/, 'the median uses the index')
})
