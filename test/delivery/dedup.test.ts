import t from 'tap'
import type { DedupPolicy } from '../../src/db/schema.js'
import { installedPortal, startApp, startEmulator, waitFor, type Teardown } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'

async function withExistingLead(t: Teardown, policy: DedupPolicy) {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  await app.settings.update(portal.memberId, { dedup_policy: policy, default_country: 'VN' })
  const conf = (await app.settings.find(portal.memberId))!
  const { result: existingId } = await app.b24.forPortal(portal.memberId).call<number>('crm.lead.add', {
    fields: { TITLE: 'Walk-in', NAME: 'An', PHONE: [{ VALUE: '+84 91 234 5678', VALUE_TYPE: 'MOBILE' }] },
  })
  const dup = sampleLead({ phone: '0912345678', email: 'other@example.com' })
  const fresh = sampleLead({ phone: '0987654321', email: 'new@example.com' })
  await postWebhook(url, conf.webhook_key, notificationBody([dup, fresh]), { secret: conf.signing_secret })
  await waitFor('settled', async () => {
    const c = await app.leads.counts(portal.memberId)
    return c.delivered + c.duplicate === 2
  })
  return { emu, app, portal, existingId: Number(existingId), dup, fresh }
}

t.test('dedup skip: a lead whose phone is already in the CRM is not created', async (t) => {
  const { app, portal, existingId, dup, fresh } = await withExistingLead(t, 'skip')
  const d = await app.leads.findByTikTokId(portal.memberId, dup.id)
  t.equal(d!.status, 'duplicate')
  t.equal(d!.b24_lead_id, existingId)
  t.match(d!.duplicate_of, `lead #${existingId}`)
  t.equal((await app.leads.findByTikTokId(portal.memberId, fresh.id))!.status, 'delivered')
  t.equal(portal.leads.size, 2, 'the existing lead and the fresh one')
})

t.test('dedup update: the existing lead is updated instead', async (t) => {
  const { emu, app, portal, existingId, dup } = await withExistingLead(t, 'update')
  const d = await app.leads.findByTikTokId(portal.memberId, dup.id)
  t.equal(d!.status, 'duplicate')
  t.equal(d!.b24_lead_id, existingId)
  t.equal(portal.leads.size, 2)
  t.equal(portal.leads.get(existingId)!.UTM_CAMPAIGN, 'Spring campaign', 'TikTok data written to the existing lead')
  t.equal((portal.leads.get(existingId)!.PHONE as unknown[]).length, 1, 'phone not added twice')
  t.ok(emu.calls.some((c) => c.method === 'crm.lead.update' && c.inBatch))
})

t.test('dedup link: created anyway, with the match named in COMMENTS', async (t) => {
  const { app, portal, existingId, dup } = await withExistingLead(t, 'link')
  const d = await app.leads.findByTikTokId(portal.memberId, dup.id)
  t.equal(d!.status, 'delivered')
  t.equal(portal.leads.size, 3)
  t.match(String(portal.leads.get(d!.b24_lead_id!)!.COMMENTS), `Possible duplicate of lead #${existingId}`)
})

t.test('dedup look-ups are batched: one findbycomm batch and one write batch per group', async (t) => {
  const { emu, portal } = await withExistingLead(t, 'skip')
  const batches = emu.calls.filter((c) => c.memberId === portal.memberId && c.method === 'batch' && !c.inBatch)
  const lookups = emu.calls.filter((c) => c.memberId === portal.memberId && c.method === 'crm.duplicate.findbycomm')
  t.ok(
    lookups.every((c) => c.inBatch),
    'every look-up inside a batch',
  )
  t.equal(lookups.length, 4, 'phone and e-mail for each of the two leads')
  t.equal(batches.length, 3, 'install binding, look-ups, writes')
})
