/**
 * Lead download task and file:
 * - CREATED, RUNNING until taskDelayMs, then SUCCEED with file_name/file_type; download before that
 *   is 40201; after fileTtlMs or for an unknown task a JSON "file not exist".
 *   @see bububa model/page/lead/task.go; promopult src/Service/Leads.php (10 minutes, "file not exist")
 * - CSV: BOM, header `lead_id,create_time,…,ad_name,<form fields…>`, RFC 4180 quoting, UTC times,
 *   oldest first, empty cells for unanswered; test leads and leads older than 90 days left out.
 *   @see bububa api/page/lead/task_download.go; ads.tiktok.com/help/article/leads-center-manage (90 days)
 * - zip (one .csv inside) when the raw CSV exceeds zipThresholdBytes; 10,000 leads stream quickly.
 */
import { parse } from 'csv-parse/sync'
import { unzipSync } from 'fflate'
import t from 'tap'
import { call, connect, fakeClock, startTikTok } from './helpers.js'

const HEADER =
  'lead_id,create_time,lead_source,advertiser_id,page_id,page_name,campaign_id,campaign_name,adgroup_id,adgroup_name,ad_id,ad_name'

async function download(url: string, q: Record<string, string>, token: string) {
  const response = await fetch(`${url}/open_api/v1.3/page/lead/task/download/?${new URLSearchParams(q)}`, {
    headers: { 'Access-Token': token },
  })
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    bytes: new Uint8Array(await response.arrayBuffer()),
  }
}

t.test('task lifecycle, CSV content, expiry, 90-day window', async (t) => {
  const clock = fakeClock()
  const tt = await startTikTok(t, { now: clock.now, taskDelayMs: 2000, fileTtlMs: 600_000 })
  const adv = tt.addAdvertiser({ name: 'Acme' })
  const { pageId } = tt.addForm(adv.id, {
    title: 'Spring, "big"',
    fields: [{ name: 'name' }, { name: 'email' }, { name: 'phone_number' }, { name: 'Which service?' }],
  })
  const token = await connect(tt)
  const nowSec = Math.floor(clock.now() / 1000)
  tt.submitLead(pageId, { name: 'Too old' }, { createTime: nowSec - 91 * 86_400 })
  const second = tt.submitLead(
    pageId,
    { name: 'Ann', email: 'ann@example.com', 'Which service?': 'Install, "fast"\nplease' },
    { createTime: nowSec - 60 },
  )
  const first = tt.submitLead(pageId, { name: 'Bob', phone_number: '15088888888' }, { createTime: nowSec - 3600 })
  await call(tt, 'POST', 'page/lead/mock/create/', { advertiser_id: adv.id, page_id: pageId }, { token })

  const created = await call(tt, 'POST', 'page/lead/task/', { advertiser_id: adv.id, page_id: pageId }, { token })
  t.match(created.body.data, { task_id: /^\d{19}$/, status: 'CREATED' })
  const taskId = created.body.data.task_id as string
  const poll = () =>
    call(tt, 'POST', 'page/lead/task/', { advertiser_id: adv.id, page_id: pageId, task_id: taskId }, { token })
  t.equal((await poll()).body.data.status, 'RUNNING')
  t.equal(
    (await download(tt.url, { advertiser_id: adv.id, task_id: taskId }, token)).status,
    200,
    'JSON error, not HTTP',
  )
  const early = await download(tt.url, { advertiser_id: adv.id, task_id: taskId }, token)
  t.equal(JSON.parse(Buffer.from(early.bytes).toString()).code, 40201)
  clock.advance(2000)
  const done = await poll()
  t.match(done.body.data, { status: 'SUCCEED', file_type: 'csv', file_name: /\.csv$/ })

  const file = await download(tt.url, { advertiser_id: adv.id, task_id: taskId }, token)
  t.match(file.type, /^text\/csv/)
  const text = Buffer.from(file.bytes).toString('utf8')
  t.ok(text.startsWith('\uFEFF'), 'UTF-8 BOM')
  t.ok(text.startsWith(`\uFEFF${HEADER},name,email,phone_number,Which service?\r\n`), 'header row')
  const rows: string[][] = parse(text, { bom: true })
  t.equal(rows.length, 3, 'header + two leads: no test lead, nothing older than 90 days')
  const iso = (s: number) => new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' ')
  t.match(rows[1], [first.leadId, iso(nowSec - 3600), 'INSTANT_FORM', adv.id, pageId, 'Spring, "big"', /^\d+$/])
  t.same(rows[1]?.slice(12), ['Bob', '', '15088888888', ''], 'oldest first; unanswered = empty')
  t.same(rows[2]?.slice(12), ['Ann', 'ann@example.com', '', 'Install, "fast"\nplease'])
  t.equal(rows[2]?.[0], second.leadId)
  t.match(text, /"Install, ""fast""\nplease"/, 'RFC 4180 quoting')

  const unknown = await download(tt.url, { advertiser_id: adv.id, task_id: '7600000000000000000' }, token)
  t.match(JSON.parse(Buffer.from(unknown.bytes).toString()), { code: 40905, message: 'file not exist' })
  clock.advance(600_000)
  const expired = await download(tt.url, { advertiser_id: adv.id, task_id: taskId }, token)
  t.match(expired.type, /json/)
  t.match(JSON.parse(Buffer.from(expired.bytes).toString()), { code: 40905, message: 'file not exist' })
  t.equal(
    (await call(tt, 'POST', 'page/lead/task/', { advertiser_id: adv.id }, { token })).body.code,
    40002,
    'page_id required',
  )
})

t.test('zip above the threshold; 10,000 leads stream cheaply', async (t) => {
  const clock = fakeClock()
  const tt = await startTikTok(t, { now: clock.now, taskDelayMs: 0, zipThresholdBytes: 100_000 })
  const adv = tt.addAdvertiser({ name: 'Acme' })
  const { pageId } = tt.addForm(adv.id, { title: 'Big' })
  const token = await connect(tt)
  const base = Math.floor(clock.now() / 1000) - 86_400
  for (let i = 0; i < 10_000; i++)
    tt.submitLead(pageId, { name: `Person ${i}`, email: `p${i}@example.com` }, { createTime: base + i })
  const created = await call(tt, 'POST', 'page/lead/task/', { advertiser_id: adv.id, page_id: pageId }, { token })
  const taskId = created.body.data.task_id as string
  const done = await call(
    tt,
    'POST',
    'page/lead/task/',
    { advertiser_id: adv.id, page_id: pageId, task_id: taskId },
    { token },
  )
  t.match(done.body.data, { status: 'SUCCEED', file_type: 'zip', file_name: /\.zip$/ })
  const file = await download(tt.url, { advertiser_id: adv.id, task_id: taskId }, token)
  t.equal(file.type, 'application/zip')
  const entries = unzipSync(file.bytes)
  const names = Object.keys(entries)
  t.equal(names.length, 1)
  t.match(names[0], /\.csv$/)
  const rows: string[][] = parse(Buffer.from(entries[names[0] as string] as Uint8Array).toString('utf8'), { bom: true })
  t.equal(rows.length, 10_001)
  t.equal(rows[10_000]?.[12], 'Person 9999')
})
