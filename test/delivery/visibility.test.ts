import SQLite from 'better-sqlite3'
import t from 'tap'
import { installedPortal, metricsAuth, startApp, startEmulator, tempDbPath, waitFor } from '../helpers.js'
import { leadId, notificationBody, postWebhook, sampleLead } from '../fixtures.js'

t.test('/metrics reports leads by portal and status, portal state and queue depth', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  await postWebhook(url, conf.webhook_key, notificationBody([sampleLead(), sampleLead()]), {
    secret: conf.signing_secret,
  })
  await waitFor('delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 2)
  const res = await fetch(`${url}/metrics`, metricsAuth)
  t.match(res.headers.get('content-type'), /text\/plain/)
  const text = await res.text()
  t.match(text, `tiktok_leads_total{member_id="${portal.memberId}",status="delivered"} 2`)
  t.match(text, `tiktok_leads_total{member_id="${portal.memberId}",status="failed"} 0`)
  t.match(text, `b24_portal_state{member_id="${portal.memberId}",state="active"} 1`)
  t.match(text, /# TYPE b24_queue_pending gauge/)
})

t.test('each lead records status, timestamps, attempts and the Bitrix24 id', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  const lead = sampleLead()
  await postWebhook(url, conf.webhook_key, notificationBody([lead]), { secret: conf.signing_secret })
  const row = await waitFor('delivered', async () => {
    const r = await app.leads.findByTikTokId(portal.memberId, lead.id)
    return r?.status === 'delivered' ? r : null
  })
  t.equal(row.attempts, 1)
  t.ok(row.received_at <= row.sent_at! && row.sent_at! <= row.done_at!)
  t.ok(row.b24_lead_id! > 0)
  t.equal(row.last_error, null)
})

t.test('the pull/test-lead shape and forwarder bodies are accepted through the same URL', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  const pullId = leadId()
  const pull = `{"lead_data":{"name":"Tran Thi B","phone_number":"+84987000111","email":"b@example.com"},"meta_data":{"lead_id":${pullId},"form_name":"Test form","create_time":"2026-11-20 10:00:00"}}`
  const fwdId = `evt-${leadId()}`
  const forwarder = JSON.stringify({
    event_id: fwdId,
    lead_data: { full_name: 'Le Van C', email: 'c@example.com', phone: '+84911222333' },
    campaign: { campaign_name: 'Zapier campaign' },
  })
  for (const body of [pull, forwarder]) {
    const r = await postWebhook(url, conf.webhook_key, body, { secret: conf.signing_secret })
    t.equal(r.status, 200)
  }
  await waitFor('both delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 2)
  const byOrigin = new Map([...portal.leads.values()].map((l) => [String(l.ORIGIN_ID), l]))
  t.equal(byOrigin.get(pullId)!.NAME, 'Tran Thi')
  t.equal(byOrigin.get(fwdId)!.UTM_CAMPAIGN, 'Zapier campaign')
  t.equal((await app.leads.findByTikTokId(portal.memberId, pullId))!.format, 'pull')
  t.equal((await app.leads.findByTikTokId(portal.memberId, fwdId))!.format, 'forwarder')
})

t.test('graceful close lets an in-flight batch finish and record its outcome', async (t) => {
  const emu = await startEmulator(t)
  const dbPath = tempDbPath()
  const { app, url } = await startApp(t, { emu, config: { DATABASE_PATH: dbPath } })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  emu.faults.latencyMs = 500
  await postWebhook(url, conf.webhook_key, notificationBody(Array.from({ length: 10 }, () => sampleLead())), {
    secret: conf.signing_secret,
  })
  await waitFor('batch in flight', async () => (await app.leads.counts(portal.memberId)).sending === 10)
  await app.close()
  const db = new SQLite(dbPath, { readonly: true })
  t.teardown(() => db.close())
  const rows = db.prepare('select status, count(*) n from leads group by status').all()
  t.same(rows, [{ status: 'delivered', n: 10 }], 'outcome recorded before the database closed')
  t.equal(portal.leads.size, 10)
})
