/**
 * /metrics serves tiktok_leads_total from counts the lead repository keeps as it writes (issue 14):
 * after any sequence of writes they must equal a fresh GROUP BY over the table, and no scrape may
 * count the table again.
 */
import t from 'tap'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { createLeadRepository } from '../../src/db/repositories/leads.js'
import { createPortalRepository } from '../../src/db/repositories/portals.js'
import { secretBoxFor } from '../../src/crypto/secret-box.js'
import { LEAD_STATUSES, LeadCounts } from '../../src/metrics/lead-counts.js'
import { installedPortal, metricsAuth, startApp, startEmulator, waitFor } from '../helpers.js'
import {
  incomingLead as lead,
  notificationBody,
  portalTableRow as portalRow,
  postWebhook,
  sampleLead,
} from '../fixtures.js'

const verify = { scheme: 'url-key', valid: true }

async function setup(seedWith: string[] = []) {
  const opened = openDatabase(':memory:')
  await migrateToLatest(opened.db)
  for (const m of ['m1', 'm2']) await opened.db.insertInto('portals').values(portalRow(m)).execute()
  if (seedWith.length) await createLeadRepository(opened.db).insertMany('m1', seedWith.map(lead), verify)
  const counts = new LeadCounts(opened.sqlite)
  counts.seed()
  const leads = createLeadRepository(opened.db, { counts })
  const portals = createPortalRepository(
    opened.db,
    secretBoxFor(`k1:${Buffer.alloc(32, 7).toString('base64')}`, ':memory:'),
    { purged: (m) => counts.stale(m) },
  )
  /** What the table says, in the shape the counts keep (every portal with a lead, all six statuses). */
  const fresh = () => {
    const out: Record<string, Record<string, number>> = {}
    for (const r of opened.sqlite
      .prepare('select member_id, status, count(*) n from leads group by member_id, status')
      .all() as Array<{ member_id: string; status: string; n: number }>) {
      out[r.member_id] ??= Object.fromEntries(LEAD_STATUSES.map((s) => [s, 0]))
      out[r.member_id]![r.status] = r.n
    }
    return out
  }
  const kept = () => Object.fromEntries([...counts.entries()].map(([m, c]) => [m, { ...c }]))
  /** Re-counts run in a later macrotask once no write is in flight. */
  const settled = async () => {
    for (let i = 0; i < 50 && counts.pendingRecounts > 0; i++) await new Promise((r) => setImmediate(r))
  }
  return { ...opened, counts, leads, portals, fresh, kept, settled }
}

t.test('seeded by one grouped count at start', async (t) => {
  const s = await setup(['a', 'b', 'c'])
  t.same(s.kept(), { m1: { received: 3, queued: 0, sending: 0, delivered: 0, duplicate: 0, failed: 0 } })
  t.same(s.kept(), s.fresh())
})

t.test(
  'store, claim, deliver, fail, requeue, resend, duplicate: the counts equal a fresh count after each step',
  async (t) => {
    const s = await setup()
    const check = async (step: string) => {
      await s.settled()
      t.same(s.kept(), s.fresh(), step)
    }
    await Promise.all([
      s.leads.insertMany('m1', ['1', '2', '3', '4', '5', '6'].map(lead), verify),
      s.leads.insertMany('m2', ['1', '2'].map(lead), verify),
      s.leads.insertMany('m1', ['1'].map(lead), verify),
    ])
    await check('stored (a retried lead is not counted twice)')
    let claimed = await s.leads.claimDue('m1', 4)
    await check('claimed: received → sending')
    await s.leads.markDelivered([{ id: claimed[0]!.id, b24LeadId: 10 }])
    await s.leads.markFailed([{ id: claimed[1]!.id, error: 'x' }])
    await s.leads.markDuplicate([{ id: claimed[2]!.id, b24LeadId: 11, duplicateOf: 'LEAD 11' }])
    await s.leads.requeue([claimed[3]!.id], 0, 'retry later')
    await check('delivered, failed, duplicate and requeued out of sending')
    t.equal(await s.leads.resend('m1', 'all-failed'), 1)
    await check('resend: failed → queued')
    claimed = await s.leads.claimDue('m1', 10)
    t.equal(claimed.length, 4, 'received and queued ones claimed together')
    await check('claimed again: received and queued → sending')
    await s.leads.markDuplicate(
      claimed.slice(0, 2).map((r) => ({ id: r.id, b24LeadId: null, duplicateOf: 'CONTACT 1' })),
    )
    await s.leads.markFailed(claimed.slice(2).map((r) => ({ id: r.id, error: 'refused' })))
    await check('duplicates and failures of one batch')
    t.equal(await s.leads.resend('m1', [claimed[2]!.id]), 1)
    t.equal(await s.leads.resend('m1', [claimed[2]!.id]), 0, 'a lead that is no longer failed is not re-sent')
    await s.leads.requeueUnknown([claimed[3]!.id], 'unknown')
    await check('resend by id; requeueUnknown changes no status')
    const m2 = await s.leads.claimDue('m2', 10)
    await s.leads.markDelivered(m2.map((r, i) => ({ id: r.id, b24LeadId: 100 + i })))
    await check('the other portal counts apart')
    t.same(s.kept()['m2'], { received: 0, queued: 0, sending: 0, delivered: 2, duplicate: 0, failed: 0 })
  },
)

t.test('a write whose rows were not where it thought re-counts that portal, off the hot path', async (t) => {
  const s = await setup()
  await s.leads.insertMany('m1', ['1', '2', '3'].map(lead), verify)
  const [a, b] = await s.db.selectFrom('leads').select('id').orderBy('id').execute()
  // Marked delivered while still `received` (never claimed): the from-status is not `sending`.
  await s.leads.markDelivered([{ id: a!.id, b24LeadId: 1 }])
  await s.leads.markFailed([{ id: b!.id, error: 'x' }])
  t.ok(s.counts.pendingRecounts > 0, 'the portal waits for a re-count')
  await s.settled()
  t.equal(s.counts.pendingRecounts, 0)
  t.same(s.kept(), s.fresh())
  // A status written behind the repository's back: the next transition that cannot add up re-counts.
  await s.db.updateTable('leads').set({ status: 'failed' }).where('status', '=', 'received').execute()
  t.equal(await s.leads.resend('m1', 'all-failed'), 2)
  await s.settled()
  t.same(s.kept(), s.fresh(), 'no count below zero, and the table wins')
})

t.test("a CLEAN uninstall drops the portal's series; the others stay", async (t) => {
  const s = await setup()
  await s.leads.insertMany('m1', ['1', '2'].map(lead), verify)
  await s.leads.insertMany('m2', ['1'].map(lead), verify)
  await s.portals.purge('m1')
  await s.settled()
  t.same(Object.keys(s.kept()), ['m2'])
  t.same(s.kept(), s.fresh())
})

t.test('/metrics after store, deliver, fail, resend and duplicate equals a fresh count of the table', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const m = portal.memberId
  const conf = (await app.settings.find(m))!
  const post = async (leads: ReturnType<typeof sampleLead>[]) =>
    t.equal(
      (await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })).status,
      200,
    )
  const settledAt = (n: number) =>
    waitFor(`${n} leads settled`, async () => {
      const c = await app.leads.counts(m)
      return c.delivered + c.duplicate + c.failed === n
    })
  // Store and deliver.
  await post([
    sampleLead({ phone: '0912345678', email: 'a@example.com' }),
    sampleLead({ phone: '0900000001', email: 'b@example.com' }),
  ])
  await settledAt(2)
  // Fail: Bitrix24 refuses the enumeration value ("Huge" maps to an item id the portal lacks).
  portal.addUserField({
    FIELD_NAME: 'UF_CRM_BUDGET',
    USER_TYPE_ID: 'enumeration',
    LIST: [{ VALUE: 'Low' }, { VALUE: 'High' }],
  })
  await app.settings.update(m, {
    mapping_json: JSON.stringify({
      rules: [{ source: 'Budget', target: 'UF_CRM_BUDGET', enumMap: { Huge: '99999' } }],
      constants: {},
    }),
  })
  await post([sampleLead({ phone: '0900000002', email: 'c@example.com', extra: { Budget: 'Huge' } })])
  await settledAt(3)
  t.equal((await app.leads.counts(m)).failed, 1)
  // Resend (after fixing the mapping): failed → queued → sending → delivered.
  await app.settings.update(m, { mapping_json: JSON.stringify({ rules: [], constants: {} }) })
  t.equal(await app.leads.resend(m, 'all-failed'), 1)
  app.dispatcher.notify(m)
  await waitFor('re-sent and delivered', async () => (await app.leads.counts(m)).delivered === 3)
  // Duplicate: with dedup on, a lead whose phone is already in the CRM is skipped.
  await app.settings.update(m, { dedup_policy: 'skip', default_country: 'VN' })
  await app.b24.forPortal(m).call('crm.lead.add', {
    fields: { TITLE: 'Walk-in', NAME: 'An', PHONE: [{ VALUE: '+84 91 234 5679', VALUE_TYPE: 'MOBILE' }] },
  })
  await post([sampleLead({ phone: '0912345679', email: 'other@example.com' })])
  await settledAt(4)
  const table = await app.leads.counts(m)
  t.same(table, { received: 0, queued: 0, sending: 0, delivered: 3, duplicate: 1, failed: 0 })
  await waitFor('no re-count pending', () => app.leadCounts.pendingRecounts === 0 || null)
  t.same({ ...app.leadCounts.get(m) }, table, 'the kept counts equal the table')
  const text = await (await fetch(`${url}/metrics`, metricsAuth)).text()
  for (const s of LEAD_STATUSES)
    t.match(text, `tiktok_leads_total{member_id="${m}",status="${s}"} ${table[s]}\n`, `${s} in /metrics`)
  t.match(text, /tiktok_webhook_requests_total\{outcome="accepted"\} 3/, 'three webhooks answered')
  t.match(text, /tiktok_webhook_requests_total\{outcome="unknown_key"\} 0/)
})
