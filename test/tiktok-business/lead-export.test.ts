import { Readable } from 'node:stream'
import t from 'tap'
import { strToU8, Zip, ZipDeflate, zipSync } from 'fflate'
import { createExportStats, ExportFormatError, readLeadExport } from '../../src/tiktok-business/lead-export.js'
import { NormalizedLead } from '../../src/tiktok/schemas.js'

const META =
  'lead_id,create_time,lead_source,advertiser_id,page_id,page_name,campaign_id,campaign_name,adgroup_id,adgroup_name,ad_id,ad_name'
const form = { advertiserId: '7000000000000000001', pageId: '7100000000000000002', pageName: 'Spring form' }

async function collect(body: Readable, fileType: 'csv' | 'zip' = 'csv', stats = createExportStats()) {
  const leads = []
  for await (const lead of readLeadExport(body, fileType, form, stats)) leads.push(lead)
  return { leads, stats }
}

/** A stream that hands the text over in small pieces, so quotes and BOMs straddle chunks. */
function chunked(text: string | Uint8Array, size = 7): Readable {
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text)
  const parts: Buffer[] = []
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size))
  return Readable.from(parts)
}

t.test('the emulator format: meta columns, answers in header order, ISO times', async (t) => {
  const csv = [
    `${META},name,email,phone_number,Which service?`,
    '7212345678901234567,2026-03-01 10:20:30,INSTANT_FORM,7000000000000000001,7100000000000000002,Spring form,1801,Camp,1802,Group,1803,Ad,Ann Lee,ann@example.com,+15088888888,Cleaning',
    '7212345678901234568,2026-03-02 00:00:05,INSTANT_FORM,7000000000000000001,7100000000000000002,Spring form,,,,,,,Bob,,0912345678,',
  ].join('\r\n')
  const { leads, stats } = await collect(chunked(csv))
  t.equal(leads.length, 2)
  const [a, b] = leads
  t.match(a, {
    leadId: '7212345678901234567',
    format: 'export',
    createdAt: '2026-03-01T10:20:30.000Z',
    formId: '7100000000000000002',
    pageId: '7100000000000000002',
    formName: 'Spring form',
    advertiserId: '7000000000000000001',
    campaignId: '1801',
    campaignName: 'Camp',
    adgroupId: '1802',
    adgroupName: 'Group',
    adId: '1803',
    adName: 'Ad',
  })
  t.same(a!.answers, [
    { key: 'name', value: 'Ann Lee' },
    { key: 'email', value: 'ann@example.com' },
    { key: 'phone_number', value: '+15088888888' },
    { key: 'Which service?', value: 'Cleaning' },
  ])
  t.same(
    b!.answers,
    [
      { key: 'name', value: 'Bob' },
      { key: 'phone_number', value: '0912345678' },
    ],
    'empty cells are unanswered questions',
  )
  t.equal(b!.campaignId, null)
  for (const l of leads) t.ok(NormalizedLead.safeParse(l).success, 'a valid NormalizedLead')
  t.same(stats, { rows: 2, leads: 2, skipped: 0, skippedRows: [] })
})

t.test('RFC 4180 quoting: commas, doubled quotes, newlines inside answers; BOM', async (t) => {
  const csv =
    '\uFEFF' +
    `${META},name,"Tell us, please","Quote ""this"""\n` +
    `1,2026-01-01 00:00:00,INSTANT_FORM,7,8,"Form, with comma",,,,,,,"Lee, Ann","line one\nline two\r\nline three","she said ""hi"""\n`
  for (const size of [1, 3, 64]) {
    const { leads } = await collect(chunked(csv, size))
    t.equal(leads.length, 1, `chunk size ${size}`)
    t.equal(leads[0]!.leadId, '1', 'the BOM does not stick to the first header')
    t.equal(leads[0]!.pageName, 'Form, with comma')
    t.same(leads[0]!.answers, [
      { key: 'name', value: 'Lee, Ann' },
      { key: 'Tell us, please', value: 'line one\nline two\r\nline three' },
      { key: 'Quote "this"', value: 'she said "hi"' },
    ])
  }
})

t.test('header aliases, case and spacing; unknown meta columns are answers', async (t) => {
  const csv = [
    'Lead ID,Created Time,FORM_ID, form_name ,Advertiser-ID,Extra Column,email',
    '99,2026-02-03 04:05:06,555,Other form,,x,a@b.c',
  ].join('\n')
  const { leads } = await collect(chunked(csv))
  t.match(leads[0], {
    leadId: '99',
    createdAt: '2026-02-03T04:05:06.000Z',
    pageId: '555',
    formId: '555',
    pageName: 'Other form',
    advertiserId: form.advertiserId, // empty cell: the form's own advertiser
    campaignId: null,
  })
  t.same(leads[0]!.answers, [
    { key: 'Extra Column', value: 'x' },
    { key: 'email', value: 'a@b.c' },
  ])
})

t.test('a row without a valid lead_id is skipped and counted; the rest go on', async (t) => {
  const csv = [
    `${META},name`,
    ',2026-01-01 00:00:00,,,,,,,,,,,No id',
    'bad id!,2026-01-01 00:00:00,,,,,,,,,,,Bad id',
    '5,not a time,,,,,,,,,,,Good',
    '6', // a short row: no other cells
  ].join('\n')
  const { leads, stats } = await collect(chunked(csv))
  t.same(
    leads.map((l) => l.leadId),
    ['5', '6'],
  )
  t.equal(leads[0]!.createdAt, null, 'an unreadable time is null, the lead is kept')
  t.equal(leads[1]!.pageId, form.pageId, 'missing cells fall back to the form')
  t.equal(stats.rows, 4)
  t.equal(stats.skipped, 2)
  t.same(
    stats.skippedRows.map((r) => r.line),
    [2, 3],
  )
  t.match(stats.skippedRows[0]!.reason, /lead_id is empty/)
})

t.test('a file without a lead_id column, JSON, or nothing throws ExportFormatError', async (t) => {
  await t.rejects(collect(chunked('name,email\nAnn,a@b.c\n')), ExportFormatError)
  await t.rejects(collect(chunked('name,email\nAnn,a@b.c\n')), /no lead_id column/)
  await t.rejects(collect(chunked('{"code":40002,"message":"file not exist"}')), /JSON/)
  await t.rejects(collect(chunked('')), /empty/)
})

t.test('zip: the first .csv entry is read (whole-file and streamed zips)', async (t) => {
  const csv = `${META},name\n1,2026-01-01 00:00:00,,,,,,,,,,,Ann\n2,2026-01-01 00:00:01,,,,,,,,,,,Bob\n`
  const whole = zipSync({
    '__MACOSX/._leads.csv': strToU8('junk'),
    'readme.txt': strToU8('not this'),
    'leads.csv': strToU8(csv),
    'second.csv': strToU8(`${META}\n3,,,,,,,,,,,\n`),
  })
  const a = await collect(chunked(whole, 5), 'zip')
  t.same(
    a.leads.map((l) => l.leadId),
    ['1', '2'],
  )

  // A zip written as a stream (sizes in data descriptors after the data).
  const streamed = await new Promise<Uint8Array>((resolve, reject) => {
    const parts: Uint8Array[] = []
    const zip = new Zip((err, chunk, final) => {
      if (err) return reject(err)
      parts.push(chunk)
      if (final) resolve(Buffer.concat(parts))
    })
    const entry = new ZipDeflate('export/leads.CSV', { level: 6 })
    zip.add(entry)
    entry.push(strToU8(csv), true)
    zip.end()
  })
  const b = await collect(chunked(streamed, 11), 'zip')
  t.same(
    b.leads.map((l) => l.leadId),
    ['1', '2'],
  )

  await t.rejects(collect(chunked(zipSync({ 'a.txt': strToU8('x') })), 'zip'), /no \.csv/)
  await t.rejects(collect(chunked(strToU8('PK\u0003\u0004 this is not a zip at all')), 'zip'), ExportFormatError)
})

t.test('10,000 rows stream through without holding the file', async (t) => {
  const rows = 10_000
  const filler = 'x'.repeat(200)
  function* generate() {
    yield `${META},name,email,phone_number,Which service?\n`
    for (let i = 0; i < rows; i++) {
      const id = (7212345678901234567n + BigInt(i)).toString()
      yield `${id},2026-03-01 10:20:30,INSTANT_FORM,7000000000000000001,7100000000000000002,Form,1,C,2,G,3,A,"Name ${i}",u${i}@example.com,+1508${String(i).padStart(7, '0')},"${filler}, ""q"""\n`
    }
  }
  let produced = 0
  const source = Readable.from(
    (function* () {
      for (const s of generate()) {
        produced += s.length
        yield Buffer.from(s)
      }
    })(),
  )
  const stats = createExportStats()
  let count = 0
  let maxAhead = 0
  let last = ''
  for await (const lead of readLeadExport(source, 'csv', form, stats)) {
    count++
    last = lead.leadId
    // The source is read only a little ahead of the rows consumed (no whole-file buffering).
    maxAhead = Math.max(maxAhead, produced - count * 300)
  }
  t.equal(count, rows)
  t.equal(stats.leads, rows)
  t.equal(last, (7212345678901234567n + BigInt(rows - 1)).toString(), '19-digit ids keep their digits')
  t.ok(produced > 2_500_000, `a sizeable file (${produced} bytes)`)
  t.ok(maxAhead < 1_000_000, `read at most ${maxAhead} bytes ahead of the consumer`)
})

t.test('stopping early stops reading the source', async (t) => {
  let pulled = 0
  const source = Readable.from(
    (function* () {
      yield Buffer.from(`${META}\n`)
      for (let i = 1; i <= 100_000; i++) {
        pulled++
        yield Buffer.from(`${i},,,,,,,,,,,\n`)
      }
    })(),
  )
  let n = 0
  for await (const _ of readLeadExport(source, 'csv', form)) if (++n === 10) break
  t.equal(n, 10)
  t.ok(pulled < 50_000, `the source was not drained (${pulled} rows pulled)`)
  t.ok(source.destroyed, 'the body is destroyed')
})
