/**
 * The kit tab's analytics screen (src/web/screens/AnalyticsScreen.vue; issue 10) in real chromium,
 * framed by the emulated Bitrix24 page, the app against both emulators: leads submitted on the
 * emulated TikTok for three ads in two campaigns, their outcomes in Bitrix24, spend seeded in
 * TikTok's report/integrated/get. The rows and the totals row are the seeded leads and spend (as
 * the API counts them, formatted in the page's language), the median time to first contact reads
 * as a person says it, the levels switch, the form level says why spend is missing, typed dates
 * (the last day included) and wrong ones, the chart; the CSV download (fetched with the session,
 * saved from a Blob) is caught by playwright: BOM, header, a quoted row, and the spend-missing
 * header said on the screen. Russian in the narrow slider (no sideways scroll), a read-only user
 * in Vietnamese, and more rows than the API shows. Each page fails on any script error or CSP
 * violation and saves a screenshot to test-output/kit-analytics-*.png.
 */
import { readFileSync } from 'node:fs'
import { sql } from 'kysely'
import type { FrameLocator, Locator, Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { CSV_HEADER } from '../../src/analytics/export.js'
import { addDays, analyticsFormat, customPeriod, presetPeriod } from '../../src/web/analytics/period.js'
import { fmt, type Lang, STRINGS } from '../../src/settings/i18n.js'
import { startFrameHost } from '../emulator/index.js'
import { waitFor } from '../helpers.js'
import { connect, world } from '../tiktok-business/flow.js'
import { launch, openTab, screenshot, text, watchErrors } from './browser-harness.js'

const WAIT = 20_000
const DAY_MS = 86_400_000
const today = () => new Date().toISOString().slice(0, 10)

const C1 = '1810000000000001'
const C2 = '1810000000000002'
const A1 = '1830000000000001'
const A2 = '1830000000000002'
const A3 = '1830000000000003'
const PLACES = {
  a1: {
    campaign_id: C1,
    campaign_name: 'Spring',
    adgroup_id: '1820000000000001',
    adgroup_name: 'Hanoi',
    ad_id: A1,
    ad_name: 'Video 1',
  },
  a2: {
    campaign_id: C1,
    campaign_name: 'Spring',
    adgroup_id: '1820000000000002',
    adgroup_name: 'HCMC',
    ad_id: A2,
    ad_name: 'Video 2',
  },
  // A name a spreadsheet needs quoted: a comma and quotes.
  a3: {
    campaign_id: C2,
    campaign_name: 'Autumn, "Hot"',
    adgroup_id: '1820000000000003',
    adgroup_name: 'Da Nang',
    ad_id: A3,
    ad_name: 'Video 3',
  },
}

type Numbers = Record<
  | 'leads'
  | 'delivered'
  | 'contacted'
  | 'qualified'
  | 'converted'
  | 'lost'
  | 'spend'
  | 'impressions'
  | 'clicks'
  | 'costPerLead'
  | 'costPerQualifiedLead',
  number | null
>
interface View {
  spend: { available: boolean; problems: string[] }
  rows: Array<Numbers & { id: string | null; name: string | null; medianFirstContactMs: number | null }>
  totals: Numbers
  truncated: boolean
}
const MONEY = new Set(['spend', 'costPerLead', 'costPerQualifiedLead'])

/** Picks a kit select's option with the keyboard (the list of a select can open outside the host page's viewport). */
async function pick(frame: FrameLocator, trigger: Locator, name: string): Promise<void> {
  await trigger.focus()
  await trigger.press('Enter')
  const listbox = frame.getByRole('listbox')
  await listbox.waitFor({ timeout: WAIT })
  const names = (await listbox.getByRole('option').allTextContents()).map((s) => s.trim())
  const target = names.indexOf(name)
  if (target < 0) throw new Error(`no option ${name} in ${names.join(' | ')}`)
  const highlighted = listbox.locator('[role="option"][data-highlighted]').first()
  for (let i = 0; i <= names.length; i++) {
    await highlighted.waitFor({ timeout: WAIT })
    const at = names.indexOf((await highlighted.textContent())?.trim() ?? '')
    if (at === target) break
    await highlighted.press(at < target ? 'ArrowDown' : 'ArrowUp')
  }
  await highlighted.press('Enter')
  await listbox.waitFor({ state: 'detached', timeout: WAIT })
}

/** The table's rows as shown: the row's id and each cell's text by its column. */
async function shownRows(frame: FrameLocator): Promise<Array<Record<string, string>>> {
  return frame.locator('[data-testid="an-table"] tbody tr').evaluateAll((trs) =>
    trs
      .filter((tr) => tr.querySelector('[data-k]'))
      .map((tr) => {
        const out: Record<string, string> = { id: tr.querySelector('[data-row-id]')?.getAttribute('data-row-id') ?? '' }
        for (const el of tr.querySelectorAll('[data-k]')) out[el.getAttribute('data-k')!] = el.textContent?.trim() ?? ''
        return out
      }),
  )
}
async function shownTotals(frame: FrameLocator): Promise<Record<string, string>> {
  return frame.locator('[data-testid="an-table"] tfoot').evaluate((tf) => {
    const out: Record<string, string> = {}
    for (const el of tf.querySelectorAll('[data-k]')) out[el.getAttribute('data-k')!] = el.textContent?.trim() ?? ''
    return out
  })
}

t.test('analytics period arithmetic: presets end today, typed dates include their last day', async (t) => {
  t.same(presetPeriod(7, '2026-03-10'), { from: '2026-03-04', to: '2026-03-11' }, 'seven days, today included')
  t.same(customPeriod('2026-02-27', '2026-03-01'), { from: '2026-02-27', to: '2026-03-02' }, 'to = the day after')
  t.equal(customPeriod('2026-03-02', '2026-03-01'), null, 'the end before the start')
  t.equal(customPeriod('2026-02-30', '2026-03-01'), null, 'no such day')
  t.equal(customPeriod('2025-01-01', '2026-01-02'), null, '367 days')
  t.same(customPeriod('2025-01-01', '2026-01-01'), { from: '2025-01-01', to: '2026-01-02' }, '366 days')
  t.equal(addDays('2024-02-28', 1), '2024-02-29')
  const f = analyticsFormat({ lang: 'en', strings: STRINGS.en })
  t.same(
    [45_000, 12 * 60_000, (3 * 60 + 5) * 60_000, (2 * 24 + 4) * 3_600_000, null].map(f.span),
    ['45 s', '12 min', '3 h 5 min', '2 d 4 h', '–'],
    'times to first contact as a person says them',
  )
  const ru = analyticsFormat({ lang: 'ru', strings: STRINGS.ru })
  t.equal(ru.money(1234.5), new Intl.NumberFormat('ru', { minimumFractionDigits: 2 }).format(1234.5), 'ru money')
  t.equal(ru.span(3 * 3_600_000), '3 ч 0 мин')
})

t.test('the kit analytics screen: rows, totals, levels, dates, chart, CSV; ru narrow; read-only vn', async (t) => {
  const w = await world(t)
  await connect(w)
  const db = w.started.app.db
  const m = w.portal.memberId
  const plan: Array<keyof typeof PLACES> = ['a1', 'a1', 'a1', 'a2', 'a3', 'a3']
  const submitted = plan.map((k, i) => ({
    k,
    id: w.tt.submitLead(w.form.pageId, { name: `Lead ${i}` }, { campaign: PLACES[k] }).leadId,
  }))
  await waitFor('the leads delivered', async () => {
    const rows = await db.selectFrom('leads').select('status').where('member_id', '=', m).execute()
    return rows.length === plan.length && rows.every((r) => r.status === 'delivered')
  })
  const ids: Record<string, number[]> = { a1: [], a2: [], a3: [] }
  for (const { k, id } of submitted) ids[k]!.push((await w.started.app.leads.findByTikTokId(m, id))!.id)
  // What the offline events would have left: a1's first lead worked 3 h 5 min after delivery,
  // a3's two won and lost, first worked after 2 and 4 minutes.
  const outcome = async (id: number, stage: string, semantic: 'P' | 'S' | 'F', afterMs: number) =>
    db
      .updateTable('leads')
      .set((eb) => ({
        b24_stage_id: stage,
        b24_stage_semantic: semantic,
        first_contact_at: eb('done_at', '+', afterMs),
      }))
      .where('id', '=', id)
      .execute()
  await outcome(ids.a1![0]!, 'IN_PROCESS', 'P', (3 * 60 + 5) * 60_000)
  await outcome(ids.a3![0]!, 'CONVERTED', 'S', 2 * 60_000)
  await outcome(ids.a3![1]!, 'JUNK', 'F', 4 * 60_000)
  w.tt.setAdStats(w.adv.id, A1, today(), { spend: 10.5, impressions: 1000, clicks: 20 })
  w.tt.setAdStats(w.adv.id, A2, today(), { spend: 2.25, impressions: 250, clicks: 5 })
  w.tt.setAdStats(w.adv.id, A3, today(), { spend: 1234.5, impressions: 40_000, clicks: 400 })

  // The API's own answer for the screen's default (campaigns, the last 30 days): what must be shown.
  const p30 = presetPeriod(30, today())
  const api = async (level: string, p = p30) =>
    (await (await w.tab.get(`analytics?level=${level}&from=${p.from}&to=${p.to}`)).json()) as View
  const byCampaign = await api('campaign')
  t.match(
    byCampaign.rows.find((r) => r.id === C1),
    { name: 'Spring', leads: 4, delivered: 4, contacted: 1, qualified: 1, spend: 12.75, impressions: 1250, clicks: 25 },
  )
  t.match(
    byCampaign.rows.find((r) => r.id === C2),
    { leads: 2, contacted: 2, qualified: 1, converted: 1, lost: 1, spend: 1234.5 },
  )
  t.match(byCampaign.totals, { leads: 6, spend: 1247.25, impressions: 41_250, clicks: 425 })

  const host = await startFrameHost({ emulator: w.emu, portal: w.portal, appUrl: w.started.url })
  t.teardown(() => host.close())
  const context = await launch(t)

  async function open(lang: Lang, user: 1 | 2, width: number) {
    const words = STRINGS[lang]
    const page = await context.newPage()
    const errors: string[] = []
    watchErrors(page, errors, `${lang}/${user}/${width}`)
    const frame = await openTab(page, `${host.url}?lang=${lang}&user=${user}&width=${width}`)
    await frame.getByRole('tab', { name: words.h_analytics }).click()
    await frame.locator('[data-testid="screen-analytics"]').waitFor({ timeout: WAIT })
    t.equal(await text(frame, '#an-h'), words.h_analytics, `${lang}: the screen's heading in its language`)
    await frame.locator('[data-testid="an-table"] [data-row-id]').first().waitFor({ timeout: WAIT })
    return { words, page, errors, frame }
  }

  /** The shown rows and totals are the API's, formatted as the page's language formats them. */
  async function matchesApi(t: Test, frame: FrameLocator, lang: Lang, v: View) {
    const f = analyticsFormat({ lang, strings: STRINGS[lang] })
    const cell = (k: string, n: number | null) => (MONEY.has(k) ? f.money(n) : f.count(n))
    const rows = await shownRows(frame)
    t.same(
      rows.map((r) => r.id),
      v.rows.map((r) => r.id ?? ''),
      `${lang}: the rows in the API's order`,
    )
    for (const [i, r] of v.rows.entries()) {
      const t$ = STRINGS[lang]
      const name = r.name ?? (r.id ? fmt(t$.an_id, { id: r.id }) : t$.an_unnamed)
      const want: Record<string, string> = { id: r.id ?? '', name }
      for (const k of Object.keys(v.totals)) want[k] = cell(k, r[k as keyof Numbers])
      want.medianFirstContactMs = f.span(r.medianFirstContactMs)
      t.same(rows[i], want, `${lang}: row ${r.name}`)
    }
    const totals = await shownTotals(frame)
    const want: Record<string, string> = { name: STRINGS[lang].an_total, medianFirstContactMs: '' }
    for (const [k, n] of Object.entries(v.totals)) want[k] = cell(k, n)
    t.same(totals, want, `${lang}: the totals row`)
  }

  /** Clicks Download CSV and gives the file playwright caught. */
  async function download(page: Page, frame: FrameLocator) {
    const [file] = await Promise.all([
      page.waitForEvent('download', { timeout: WAIT }),
      frame.locator('[data-testid="an-csv"]').click(),
    ])
    const path = await file.path()
    return { name: file.suggestedFilename(), body: readFileSync(path, 'utf8') }
  }

  await t.test('an administrator in English: rows and totals, levels, dates, chart, CSV', async (t) => {
    const { words, page, errors, frame } = await open('en', 1, 1280)
    await matchesApi(t, frame, 'en', byCampaign)
    const rows = await shownRows(frame)
    t.match(
      rows.find((r) => r.id === C1),
      { name: 'Spring', leads: '4', spend: '12.75', costPerLead: '3.19', medianFirstContactMs: '3 h 5 min' },
      'C1 as seeded',
    )
    t.match(
      rows.find((r) => r.id === C2),
      { spend: '1,234.50', medianFirstContactMs: '3 min' },
      'C2: the median of 2 and 4 minutes',
    )
    t.match(await shownTotals(frame), { leads: '6', spend: '1,247.25', impressions: '41,250', clicks: '425' })
    t.equal(await frame.locator('[data-testid="an-spend-problems"]').count(), 0, 'spend complete: no problem line')
    t.equal(await frame.locator('[data-testid="an-truncated"]').count(), 0, 'all rows shown')
    await frame.locator('[data-testid="bars-chart"] canvas').first().waitFor({ timeout: WAIT })
    t.pass('the chart is drawn')

    // The CSV: BOM, the header, a quoted row; its name from the server.
    const csv = await download(page, frame)
    t.equal(csv.name, `tiktok-leads-campaign-${p30.from}-to-${p30.to}.csv`, "the server's file name")
    t.ok(csv.body.startsWith('\uFEFF'), 'UTF-8 with BOM for Excel')
    const lines = csv.body.slice(1).split('\r\n')
    t.equal(lines[0], CSV_HEADER.join(','), 'the header')
    t.ok(
      lines.some((l) =>
        l.startsWith(`campaign,${C2},"Autumn, ""Hot""",${w.adv.id},2,2,2,1,1,1,180,1234.5,40000,400,617.25,1234.5`),
      ),
      'a row, its name quoted',
    )
    t.match(await text(frame, '[data-testid="an-csv-result"]'), fmt(words.an_csv_done, { file: csv.name }))

    // Ads: one row per ad, most leads first.
    await pick(frame, frame.locator('[data-testid="an-level"]'), words.an_level_ad)
    await waitFor('the ads shown', async () => (await shownRows(frame)).map((r) => r.id).join() === [A1, A3, A2].join())
    await matchesApi(t, frame, 'en', await api('ad'))
    t.equal(
      (await frame.locator('[data-testid="an-table"] thead th').first().textContent())?.trim(),
      words.an_col_ad,
      'the first column names the level',
    )

    // Forms: TikTok gives no spend per form, and the screen says so; so does the CSV's header.
    await pick(frame, frame.locator('[data-testid="an-level"]'), words.an_level_form)
    await frame.locator('[data-testid="an-spend-problems"]').waitFor({ timeout: WAIT })
    t.match(await text(frame, '[data-testid="an-spend-problems"]'), STRINGS.en.problem_spend_form_level)
    await matchesApi(t, frame, 'en', await api('form'))
    t.match((await shownRows(frame))[0], { leads: '6', spend: '–', costPerLead: '–' }, 'no spend per form')
    const formCsv = await download(page, frame)
    t.match(formCsv.name, /^tiktok-leads-form-/)
    t.match(
      await text(frame, '[data-testid="an-csv-result"]'),
      fmt(words.an_csv_spend, { file: formCsv.name, why: STRINGS.en.problem_spend_form_level }),
      'the download says spend is missing, and why',
    )

    // Typed dates, the last day included: a week before the leads shows nothing; wrong dates are said.
    await pick(frame, frame.locator('[data-testid="an-level"]'), words.an_level_campaign)
    await pick(frame, frame.locator('[data-testid="an-period"]'), words.an_period_custom)
    await frame.locator('[data-testid="an-from"]').fill(addDays(today(), -14))
    await frame.locator('[data-testid="an-through"]').fill(addDays(today(), -7))
    await frame.locator('[data-testid="an-show"]').click()
    await frame.locator('[data-testid="an-table"]').getByText(words.an_empty).waitFor({ timeout: WAIT })
    t.pass('nothing in a period before the leads')
    await frame.locator('[data-testid="an-through"]').fill(today())
    await frame.locator('[data-testid="an-show"]').click()
    await frame.locator('[data-testid="an-table"] [data-row-id]').first().waitFor({ timeout: WAIT })
    await matchesApi(t, frame, 'en', await api('campaign', customPeriod(addDays(today(), -14), today())!))
    await frame.locator('[data-testid="an-from"]').fill(addDays(today(), 1))
    await frame.locator('[data-testid="an-show"]').click()
    t.match(
      await text(frame, '[data-testid="an-error"]'),
      fmt(words.an_bad_dates, { max: 366 }),
      'wrong dates in words',
    )

    await screenshot(page, frame, 'kit-analytics-en-admin')
    t.same(errors, [], 'no script error or CSP violation')
    await page.close()
  })

  await t.test(
    'an administrator in Russian, narrow slider: the same numbers in Russian, no sideways scroll',
    async (t) => {
      const { page, errors, frame } = await open('ru', 1, 620)
      await matchesApi(t, frame, 'ru', byCampaign)
      t.match(
        (await shownRows(frame)).find((r) => r.id === C1),
        { medianFirstContactMs: '3 ч 5 мин' },
        'the median in Russian',
      )
      const { scroll, client } = await frame.locator('html').evaluate(() => ({
        scroll: document.scrollingElement!.scrollWidth,
        client: document.scrollingElement!.clientWidth,
      }))
      t.ok(scroll <= client + 1, `no horizontal scroll of the page (${scroll} <= ${client})`)
      await screenshot(page, frame, 'kit-analytics-ru-admin')
      t.same(errors, [], 'no script error or CSP violation')
      await page.close()
    },
  )

  await t.test('a read-only user in Vietnamese: the same rows, and the download', async (t) => {
    const { words, page, errors, frame } = await open('vn', 2, 940)
    await matchesApi(t, frame, 'vn', byCampaign)
    const csv = await download(page, frame)
    t.ok(csv.body.startsWith(`\uFEFF${CSV_HEADER.join(',')}\r\n`), 'a read-only user downloads the CSV too')
    t.match(await text(frame, '[data-testid="an-csv-result"]'), fmt(words.an_csv_done, { file: csv.name }))
    await screenshot(page, frame, 'kit-analytics-vn-readonly')
    t.same(errors, [], 'no script error or CSP violation')
    await page.close()
  })

  await t.test('more rows than the API shows: the hint says the CSV has them all', async (t) => {
    // 1,001 ads with a lead each, written straight into the leads table (the volume is the point
    // here, not the intake, which the first leads went through).
    const now = Date.now() - DAY_MS
    await sql`with recursive n(value) as (select 1 union all select value + 1 from n where value < 1001)
      insert into leads (member_id, tiktok_lead_id, format, lead_json, raw_json, received_at, updated_at, done_at,
        status, advertiser_id, campaign_id, campaign_name, adgroup_id, ad_id, ad_name)
      select ${m}, 'bulk-' || value, 'notification', '{}', '{}', ${now}, ${now}, ${now}, 'delivered', ${w.adv.id},
        '1819', 'Bulk', '1829', '1839' || printf('%06d', value), 'Bulk ad ' || value
      from n`.execute(db)
    const { words, page, errors, frame } = await open('en', 1, 1280)
    await pick(frame, frame.locator('[data-testid="an-level"]'), words.an_level_ad)
    await frame.locator('[data-testid="an-truncated"]').waitFor({ timeout: WAIT })
    const v = await api('ad')
    t.ok(v.truncated, 'the API truncates')
    t.equal(await text(frame, '[data-testid="an-truncated"]'), fmt(words.an_truncated, { n: v.rows.length }), 'said')
    t.equal((await shownRows(frame)).length, v.rows.length, 'every row the API gave is shown')
    t.equal((await shownTotals(frame)).leads, '1,007', 'the totals count every lead')
    t.same(errors, [], 'no script error or CSP violation')
    await page.close()
  })
})
