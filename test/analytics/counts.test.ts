/**
 * The analytics numbers against a plain reference computed here, on leads of every kind: each
 * level's groups (leads, delivered, contacted, qualified, converted, lost, median time to first
 * contact), spend joined per complete ad account only, entities that spent without leads, the
 * period's bounds, test leads and other portals left out, the order (most leads first, ties by
 * id, spend-only entities last by spend), the top rows and totals of the JSON answer, the CSV's
 * every row. The outcome sums are packed two per lead (21 bits a count); the field-by-field form
 * that a group of 2^21 leads or more falls back to must give the same numbers.
 */
import t from 'tap'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import {
  type AnalyticsGroupRow,
  type AnalyticsLevel,
  type AnalyticsPeriod,
  analyticsSql,
  createAnalyticsQueries,
} from '../../src/db/repositories/analytics.js'
import { isInitialStage } from '../../src/quality/stage-map.js'
import { portalTableRow } from '../fixtures.js'

const FROM = 1_000_000
const TO = 2_000_000
const A = '7100000000000000001' // spend complete
const B = '7100000000000000002' // spend not complete

/** A small deterministic random source. */
function random(seed: number) {
  let x = seed
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x / 2 ** 31
  }
}

interface Lead {
  member_id: string
  advertiser_id: string | null
  campaign_id: string | null
  adgroup_id: string | null
  ad_id: string | null
  page_id: string | null
  status: 'delivered' | 'failed' | 'queued'
  b24_stage_id: string | null
  b24_stage_semantic: 'P' | 'S' | 'F' | null
  received_at: number
  done_at: number | null
  first_contact_at: number | null
  is_test: 0 | 1
}

function makeLeads(n: number): Lead[] {
  const r = random(7)
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!
  const out: Lead[] = []
  for (let i = 0; i < n; i++) {
    const c = r() < 0.95 ? `c${Math.floor(r() * 3)}` : null
    const g = c ? `${c}g${Math.floor(r() * 2)}` : null
    const ad = g && r() < 0.95 ? `${g}a${Math.floor(r() * 3)}` : null
    // An entity belongs to one ad account, a form too (as on TikTok).
    const adv = c === null ? null : c === 'c2' ? B : A
    const page = adv === A ? pick(['f1', 'f3']) : adv === B ? 'f2' : null
    const stage = pick([null, 'NEW', 'C2:NEW', 'C2X:NEW', 'IN_PROCESS', 'C2:PREPARE', 'CONVERTED', 'JUNK'])
    const sem = stage === null ? null : stage === 'CONVERTED' ? 'S' : stage === 'JUNK' ? 'F' : 'P'
    const status = pick(['delivered', 'delivered', 'delivered', 'failed', 'queued'] as const)
    const at = FROM - 100_000 + Math.floor(r() * (TO - FROM + 200_000))
    const done = status === 'queued' ? null : at + Math.floor(r() * 5000)
    out.push({
      member_id: r() < 0.95 ? 'm1' : 'm2',
      advertiser_id: adv,
      campaign_id: c,
      adgroup_id: g,
      ad_id: ad,
      page_id: page,
      status,
      b24_stage_id: stage,
      b24_stage_semantic: sem,
      received_at: at,
      done_at: done,
      // sometimes before done_at (a portal clock ahead): counts as 0
      first_contact_at: done !== null && r() < 0.6 ? done + Math.floor(r() * 100_000) - 2000 : null,
      is_test: r() < 0.05 ? 1 : 0,
    })
  }
  return out
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const KEY: Record<AnalyticsLevel, (l: Lead) => string> = {
  campaign: (l) => JSON.stringify([l.campaign_id]),
  adgroup: (l) => JSON.stringify([l.campaign_id, l.adgroup_id]),
  ad: (l) => JSON.stringify([l.campaign_id, l.adgroup_id, l.ad_id]),
  form: (l) => JSON.stringify([l.page_id]),
}
const ID: Record<AnalyticsLevel, (l: Lead) => string | null> = {
  campaign: (l) => l.campaign_id,
  adgroup: (l) => l.adgroup_id,
  ad: (l) => l.ad_id,
  form: (l) => l.page_id,
}

type Spend = {
  advertiser_id: string
  level: 'campaign' | 'adgroup' | 'ad'
  day: string
  entity_id: string
  spend: number
  impressions: number
  clicks: number
}

function expected(leads: Lead[], spend: Spend[], level: AnalyticsLevel): AnalyticsGroupRow[] {
  const groups = new Map<string, Lead[]>()
  for (const l of leads) {
    if (l.member_id !== 'm1' || l.is_test || l.received_at < FROM || l.received_at >= TO) continue
    const k = KEY[level](l)
    groups.set(k, [...(groups.get(k) ?? []), l])
  }
  const inPeriod = spend.filter(
    (s) => s.level === level && s.advertiser_id === A && s.day >= '2026-01-01' && s.day < '2026-01-03',
  )
  const spendOf = (adv: string | null, id: string | null) => {
    const xs = inPeriod.filter((s) => s.advertiser_id === adv && s.entity_id === id)
    return {
      spend: Math.round(xs.reduce((a, s) => a + s.spend, 0) * 100) / 100,
      impressions: xs.reduce((a, s) => a + s.impressions, 0),
      clicks: xs.reduce((a, s) => a + s.clicks, 0),
    }
  }
  const rows: AnalyticsGroupRow[] = [...groups.values()].map((ls) => {
    const first = ls[0]!
    const qualified = (l: Lead) =>
      l.b24_stage_semantic === 'S' ||
      (l.b24_stage_semantic === 'P' && l.b24_stage_id !== null && !isInitialStage(l.b24_stage_id))
    const sp = level !== 'form' && first.advertiser_id === A ? spendOf(A, ID[level](first)) : null
    return {
      id: ID[level](first),
      name: null,
      advertiser_id: first.advertiser_id,
      leads: ls.length,
      delivered: ls.filter((l) => l.status === 'delivered').length,
      contacted: ls.filter((l) => l.first_contact_at !== null).length,
      qualified: ls.filter(qualified).length,
      converted: ls.filter((l) => l.b24_stage_semantic === 'S').length,
      lost: ls.filter((l) => l.b24_stage_semantic === 'F').length,
      median_first_contact_ms: median(
        ls
          .filter((l) => l.status === 'delivered' && l.first_contact_at !== null)
          .map((l) => Math.max(l.first_contact_at! - l.done_at!, 0)),
      ),
      spend: sp?.spend ?? null,
      impressions: sp?.impressions ?? null,
      clicks: sp?.clicks ?? null,
    }
  })
  if (level !== 'form') {
    const seen = new Set(rows.map((r) => JSON.stringify([r.advertiser_id, r.id])))
    const only = new Map<string, AnalyticsGroupRow>()
    for (const s of inPeriod) {
      const k = JSON.stringify([s.advertiser_id, s.entity_id])
      if (seen.has(k) || only.has(k)) continue
      only.set(k, {
        id: s.entity_id,
        name: null,
        advertiser_id: s.advertiser_id,
        leads: 0,
        delivered: 0,
        contacted: 0,
        qualified: 0,
        converted: 0,
        lost: 0,
        median_first_contact_ms: null,
        ...spendOf(s.advertiser_id, s.entity_id),
      })
    }
    rows.push(...only.values())
  }
  const cmpId = (a: string | null, b: string | null) =>
    a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1
  return rows.sort(
    (a, b) => b.leads - a.leads || (a.leads === 0 ? (b.spend ?? -1) - (a.spend ?? -1) : 0) || cmpId(a.id, b.id),
  )
}

t.test('every level, packed and field by field, against the reference', async (t) => {
  const opened = openDatabase(':memory:')
  t.teardown(() => opened.db.destroy())
  await migrateToLatest(opened.db)
  await opened.db
    .insertInto('portals')
    .values([portalTableRow('m1'), portalTableRow('m2')])
    .execute()
  const leads = makeLeads(3000)
  let n = 0
  for (let i = 0; i < leads.length; i += 500)
    await opened.db
      .insertInto('leads')
      .values(
        leads.slice(i, i + 500).map((l) => ({
          ...l,
          tiktok_lead_id: `L${n++}`,
          format: 'notification',
          lead_json: '{}',
          raw_json: '',
          updated_at: 1,
        })),
      )
      .execute()
  const spend: Spend[] = []
  for (const level of ['campaign', 'adgroup', 'ad'] as const)
    for (const adv of [A, B])
      for (const day of ['2025-12-31', '2026-01-01', '2026-01-02', '2026-01-03'])
        for (const id of [
          ...new Set(
            leads.map((l) => (level === 'campaign' ? l.campaign_id : level === 'adgroup' ? l.adgroup_id : l.ad_id)),
          ),
          `${level}-spent-without-leads`,
        ])
          if (id !== null)
            spend.push({
              advertiser_id: adv,
              level,
              day,
              entity_id: id,
              spend: 1.25 + day.length,
              impressions: 10,
              clicks: 1,
            })
  await opened.db.insertInto('tiktok_spend').values(spend).execute()

  const queries = createAnalyticsQueries(opened.sqlite)
  for (const level of ['campaign', 'adgroup', 'ad', 'form'] as const) {
    const p: AnalyticsPeriod = {
      memberId: 'm1',
      level,
      fromMs: FROM,
      toMs: TO,
      advertiserBounds: [],
      fromDay: '2026-01-01',
      toDay: '2026-01-03',
      spendAdvertisers: [A],
    }
    const want = expected(leads, spend, level)
    const strip = (rows: AnalyticsGroupRow[]) => rows.map((r) => ({ ...r, name: null }))
    const csv = strip([...queries.cursor(p)])
    t.same(csv, want, `${level}: every row, in order`)

    const top = queries.top(p, 5)
    t.same(strip(top.rows), want.slice(0, 5), `${level}: the top 5 rows`)
    const sum = (k: keyof AnalyticsGroupRow) => want.reduce((a, r) => a + (r[k] as number), 0)
    const withSpend = want.filter((r) => r.spend !== null)
    t.same(
      top.totals,
      {
        leads: sum('leads'),
        delivered: sum('delivered'),
        contacted: sum('contacted'),
        qualified: sum('qualified'),
        converted: sum('converted'),
        lost: sum('lost'),
        spend: withSpend.length ? Math.round(withSpend.reduce((a, r) => a + r.spend!, 0) * 100) / 100 : null,
        impressions: withSpend.length ? withSpend.reduce((a, r) => a + r.impressions!, 0) : null,
        clicks: withSpend.length ? withSpend.reduce((a, r) => a + r.clicks!, 0) : null,
        // more groups with leads than rows: the spend-only ones are not counted
        groups: want.filter((r) => r.leads > 0).length > 5 ? want.filter((r) => r.leads > 0).length : want.length,
      },
      `${level}: totals`,
    )
    const all = queries.top(p, 1000)
    t.same(strip(all.rows), want, `${level}: all rows fit`)
    t.equal(all.totals.groups, want.length)

    // The field-by-field counts: the same numbers.
    const params: Record<string, unknown> = { memberId: 'm1', fromMs: FROM, toMs: TO }
    if (level !== 'form')
      Object.assign(params, { fromDay: p.fromDay, toDay: p.toDay, spendLevel: level, advertisers: JSON.stringify([A]) })
    const exact = opened.sqlite.prepare(analyticsSql(level, 0, 'all', false)).all(params) as AnalyticsGroupRow[]
    t.same(strip(exact), want, `${level}: field by field`)
  }
})
