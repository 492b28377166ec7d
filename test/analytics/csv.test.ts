/**
 * The analytics CSV download: RFC 4180 quoting of names with commas, quotes and line breaks, a
 * UTF-8 BOM for Excel, the header, a file name; streamed from a cursor of its own (the app keeps
 * taking leads while a download waits half-read); read-only users may download; a portal's
 * session gets only that portal's rows.
 */
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { csvField, csvLine } from '../../src/analytics/csv.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { api, installedPortal, openTab, tempDbPath, waitFor } from '../helpers.js'
import { connect, world } from '../tiktok-business/flow.js'

const DAY_MS = 86_400_000
const day = (offset: number) => new Date(Date.now() + offset * DAY_MS).toISOString().slice(0, 10)
const PERIOD = () => `from=${day(-1)}&to=${day(1)}`

t.test('fields: quoted when they hold a comma, a quote or a line break; formulas defused', async (t) => {
  t.equal(csvField('plain'), 'plain')
  t.equal(csvField('a,b'), '"a,b"')
  t.equal(csvField('say "hi"'), '"say ""hi"""')
  t.equal(csvField('two\nlines'), '"two\nlines"')
  t.equal(csvField('cr\rlf'), '"cr\rlf"')
  t.equal(csvField(null), '')
  t.equal(csvField(12.5), '12.5')
  t.equal(csvField(-3), '-3', 'a number is a number')
  t.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`, 'a formula stays text')
  t.equal(csvField('+1 promo'), "'+1 promo")
  t.equal(csvLine(['a', 'b,c', null, 1]), 'a,"b,c",,1\r\n', 'records end with CRLF')
})

t.test('the download: BOM, header, names quoted as RFC 4180 says, a file name', async (t) => {
  const w = await world(t)
  await connect(w)
  const tricky = 'Sale, "big"\nnew year'
  w.tt.submitLead(
    w.form.pageId,
    { name: 'Ann' },
    { campaign: { campaign_id: '1810000000000001', campaign_name: tricky, ad_id: '1830000000000001' } },
  )
  w.tt.submitLead(
    w.form.pageId,
    { name: 'Bob' },
    { campaign: { campaign_id: '1810000000000002', campaign_name: 'Плain ünicode' } },
  )
  await waitFor(
    'leads stored',
    async () => (await w.started.app.leads.latest(w.portal.memberId, { limit: 5 })).length === 2,
  )
  w.tt.setAdStats(w.adv.id, '1830000000000001', day(0), { spend: 7.5, impressions: 10, clicks: 1 })

  const res = await w.tab.get(`analytics.csv?level=campaign&${PERIOD()}`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/csv; charset=utf-8/)
  t.equal(
    res.headers.get('content-disposition'),
    `attachment; filename="tiktok-leads-campaign-${day(-1)}-to-${day(1)}.csv"`,
  )
  const bytes = Buffer.from(await res.arrayBuffer())
  t.same([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'starts with the UTF-8 BOM')
  const text = bytes.subarray(3).toString('utf8')
  t.ok(text.includes(`"Sale, ""big""\nnew year"`), 'the name quoted, its quotes doubled, its line break kept')
  t.ok(text.endsWith('\r\n'))
  const records = parse(text, { columns: true }) as Array<Record<string, string>>
  t.same(Object.keys(records[0]!), [
    'level',
    'id',
    'name',
    'advertiser_id',
    'leads',
    'delivered',
    'contacted',
    'qualified',
    'converted',
    'lost',
    'median_first_contact_s',
    'spend',
    'impressions',
    'clicks',
    'cost_per_lead',
    'cost_per_qualified_lead',
  ])
  const byId = Object.fromEntries(records.map((r) => [r.id, r]))
  t.match(byId['1810000000000001'], { level: 'campaign', name: tricky, leads: '1', spend: '7.5', cost_per_lead: '7.5' })
  t.match(byId['1810000000000002'], { name: 'Плain ünicode', leads: '1', spend: '0', cost_per_lead: '0' })
  t.equal(records.length, 2)

  // A TikTok outage: the file still comes, and a header says why spend is missing.
  w.tt.faults.outage(503)
  const noSpend = await w.tab.get(`analytics.csv?level=ad&${PERIOD()}`)
  t.equal(noSpend.status, 200)
  t.match(decodeURIComponent(noSpend.headers.get('x-spend-unavailable') ?? ''), /Acme Ads.*HTTP 503/)
  const rows = parse(await noSpend.text(), { columns: true, bom: true }) as Array<Record<string, string>>
  t.ok(rows.length > 0 && rows.every((r) => r.spend === ''), 'rows without spend')
})

t.test('streamed from its own cursor: many rows, and the app keeps taking leads mid-download', async (t) => {
  const w = await world(t, { database: tempDbPath() })
  const { app } = w.started
  const N = 30_000
  const now = Date.now()
  for (let i = 0; i < N; i += 500) {
    await app.db
      .insertInto('leads')
      .values(
        Array.from({ length: Math.min(500, N - i) }, (_, k) => ({
          member_id: w.portal.memberId,
          tiktok_lead_id: `bulk-${i + k}`,
          format: 'notification',
          lead_json: '{}',
          raw_json: '',
          status: 'delivered' as const,
          received_at: now - 1000,
          updated_at: now,
          ad_id: `ad-${String(i + k).padStart(6, '0')}`,
          // Long names make the file (~8 MB) far larger than what the sockets buffer, so the
          // server's cursor is still open when the download pauses below.
          ad_name: `Ad ${i + k}, "variant" ${'x'.repeat(200)}`,
        })),
      )
      .execute()
  }
  const res = await w.tab.get(`analytics.csv?level=ad&${PERIOD()}`)
  t.equal(res.status, 200)
  const reader = res.body!.getReader()
  const first = await reader.read()
  t.ok(first.value && first.value.length < 1024 * 1024, 'the first chunk is a part, not the file')

  // The download waits half-read; a lead posted now is stored and answered at once.
  const conf = (await app.settings.find(w.portal.memberId))!
  const started = Date.now()
  const posted = await postWebhook(w.started.url, conf.webhook_key, notificationBody([sampleLead()]), {
    secret: conf.signing_secret,
  })
  t.equal(posted.status, 200, 'intake works while the cursor is open')
  t.ok(Date.now() - started < 2000, 'and is not held up by it')

  const chunks: Uint8Array[] = [first.value!]
  for (;;) {
    const next = await reader.read()
    if (next.done) break
    chunks.push(next.value)
  }
  t.ok(chunks.length > 3, `came in ${chunks.length} chunks`)
  const text = Buffer.concat(chunks).toString('utf8')
  const records = parse(text, { columns: true, bom: true }) as Array<Record<string, string>>
  t.equal(records.length, N, 'every row, read from the snapshot the download started with')
  t.equal(new Set(records.map((r) => r.id)).size, N)
  t.equal(records.find((r) => r.id === 'ad-000007')!.name, `Ad 7, "variant" ${'x'.repeat(200)}`)
})

t.test("read-only users may download; a portal's session gets only its own rows", async (t) => {
  const w = await world(t)
  await connect(w)
  w.tt.submitLead(
    w.form.pageId,
    { name: 'Ann' },
    { campaign: { campaign_id: '1810000000000009', campaign_name: 'Mine' } },
  )
  await waitFor('stored', async () => (await w.started.app.leads.latest(w.portal.memberId, { limit: 1 })).length === 1)

  const reader = api(w.started.url, await openTab(w.started.url, w.portal, 2))
  const mine = await reader.get(`analytics.csv?${PERIOD()}`)
  t.equal(mine.status, 200, 'a user who is not an administrator may download')
  t.match(await mine.text(), /Mine/)

  const other = await installedPortal(w.emu, w.started.url)
  const theirs = api(w.started.url, await openTab(w.started.url, other))
  const csv = await theirs.get(`analytics.csv?${PERIOD()}`)
  t.equal(csv.status, 200)
  const lines = (await csv.text()).split('\r\n').filter(Boolean)
  t.equal(lines.length, 1, "another portal's file has the header only")
  const json = (await (await theirs.get(`analytics?${PERIOD()}`)).json()) as {
    rows: unknown[]
    totals: { leads: number }
  }
  t.same(json.rows, [])
  t.equal(json.totals.leads, 0)

  const anonymous = await api(w.started.url, {}).get(`analytics.csv?${PERIOD()}`)
  t.equal(anonymous.status, 401, 'no session, no file')
})
