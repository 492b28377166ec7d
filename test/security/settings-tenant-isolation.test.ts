/**
 * Mutations that survived the whole suite: dropping the portal filter from the lead log (/leads)
 * and from re-send, and dropping the per-portal derivation of the session key. Two portals with
 * leads (failed ones too) and a TikTok connection; every settings route is called with the other
 * portal's session and this portal's ids, and must neither show nor change anything of it.
 */
import t from 'tap'
import { createSessionSigner } from '../../src/settings/session.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { api, installedPortal, openTab, waitFor } from '../helpers.js'
import { approve, connect, view, world } from '../tiktok-business/flow.js'

t.test("portal B's session reaches nothing of portal A through any settings route", async (t) => {
  const w = await world(t)
  const { app, url } = w.started
  const A = w.portal
  await connect(w)
  t.equal((await approve(w)).status, 200, 'A has a pending TikTok grant too')
  const grantA = (await view(w)).grant!
  const B = await installedPortal(w.emu, url)
  const tabB = api(url, await openTab(url, B))

  // Leads in both portals, one failed in each.
  const leadsA = [sampleLead({ name: 'Alice Of Portal A' }), sampleLead({ name: 'Anton Of Portal A' })]
  const leadsB = [sampleLead({ name: 'Bob Of Portal B' }), sampleLead({ name: 'Boris Of Portal B' })]
  for (const [p, leads] of [
    [A, leadsA],
    [B, leadsB],
  ] as const) {
    const conf = (await app.settings.find(p.memberId))!
    await postWebhook(url, conf.webhook_key, notificationBody([...leads]), { secret: conf.signing_secret })
    await waitFor('delivered', async () => (await app.leads.counts(p.memberId)).delivered === 2)
  }
  const rowA = (await app.leads.findByTikTokId(A.memberId, leadsA[0]!.id))!
  const rowB = (await app.leads.findByTikTokId(B.memberId, leadsB[0]!.id))!
  await app.db
    .updateTable('leads')
    .set({ status: 'failed', last_error: 'test' })
    .where('id', 'in', [rowA.id, rowB.id])
    .execute()

  const snapshot = async () => ({
    settings: await app.settings.find(A.memberId),
    leads: await app.db.selectFrom('leads').selectAll().where('member_id', '=', A.memberId).orderBy('id').execute(),
    connections: await app.tiktok.repo.listConnections(A.memberId),
    forms: await app.tiktok.repo.formsOfPortal(A.memberId),
    grant: await app.tiktok.repo.findGrant(A.memberId, Date.now()),
    portal: await app.portals.find(A.memberId),
  })
  const before = await snapshot()
  const secretsA = [
    before.settings!.webhook_key,
    before.settings!.signing_secret,
    A.memberId,
    ...leadsA.flatMap((l) => [l.id, l.name!]),
  ]
  const leaks = (text: string) => secretsA.filter((s) => text.includes(s))

  // Reads: nothing of A.
  for (const path of [
    'state',
    'leads',
    `leads?before=${rowA.id + 10}`,
    'leads?status=failed',
    'stats',
    'tiktok',
    'fields',
  ]) {
    const res = await tabB.get(path)
    t.equal(res.status, 200, path)
    t.same(leaks(await res.text()), [], `${path} shows nothing of portal A`)
  }
  const preview = await tabB.post('preview', { mapping: { rules: [], constants: {} } })
  t.same(leaks(await preview.text()), [], "preview uses B's own latest lead")

  // Re-send: A's failed lead stays failed, whether by id or "all failed".
  t.match(
    await (await tabB.post('leads/resend', { ids: [rowA.id] })).json(),
    { requeued: 0 },
    "A's lead id is not B's to re-send",
  )
  const all = (await (await tabB.post('leads/resend', { all: true })).json()) as { requeued: number }
  t.equal(all.requeued, 1, "only B's own failed lead")

  // A's ad account, forms and grant through B's session: as if they did not exist.
  const adv = w.adv.id
  const page = w.form.pageId
  for (const [path, body] of [
    ['tiktok/forms', { advertiserId: adv, allForms: false, pageIds: [page] }],
    ['tiktok/disconnect', { advertiserId: adv }],
    ['tiktok/check', { advertiserId: adv }],
    ['tiktok/backfill', { advertiserId: adv, days: 3 }],
    ['tiktok/test-lead', { advertiserId: adv, pageId: page }],
    ['tiktok/create-field', { advertiserId: adv, pageId: page, question: 'Which service?' }],
  ] as const) {
    const res = await tabB.post(path, body)
    t.equal(res.status, 404, `${path} with A's ad account`)
    t.same(leaks(await res.text()), [], `${path} says nothing of A`)
  }
  t.equal(
    (await tabB.post('tiktok/grant', { grantId: grantA.id, advertiserIds: [w.adv2.id], importDays: 0 })).status,
    409,
    "A's grant is not B's",
  )
  await tabB.post('tiktok/grant/cancel', { grantId: grantA.id })

  // B's own changes change B only.
  for (const [path, body] of [
    ['options', { dedup_policy: 'skip', rate_per_s: 5, default_country: 'VN', verify_mode: 'enforce' }],
    ['mapping', { rules: [], constants: { ASSIGNED_BY_ID: 1 } }],
    ['secret/rotate', {}],
    ['webhook/rotate', {}],
    ['test-lead', {}],
  ] as const)
    t.equal((await tabB.post(path, body)).status, 200, path)
  await new Promise((r) => setTimeout(r, 300))
  const after = await snapshot()
  t.same(after.settings, before.settings, "A's settings unchanged")
  t.same(
    after.leads.map((l) => [l.id, l.status]),
    before.leads.map((l) => [l.id, l.status]),
    "A's leads unchanged (the failed one still failed)",
  )
  t.same(after.connections, before.connections, "A's connection unchanged")
  t.same(after.forms, before.forms, "A's forms unchanged")
  t.same(after.grant, before.grant, "A's grant unchanged")
  t.equal(
    (await app.leads.findByTikTokId(B.memberId, leadsB[0]!.id))!.status === 'failed',
    false,
    "B's own failed lead was re-sent",
  )
})

t.test("session keys are derived per portal: one portal's MAC is never another's", async (t) => {
  const signer = createSessionSigner('test-session-secret-0123456789abcdef')
  const token = signer.sign({ m: 'portal-a', u: 1, a: true, n: 'Admin' })
  t.ok(signer.verify(token))
  const csrfA = signer.csrfFor(token, 'portal-a')
  t.not(signer.csrfFor(token, 'portal-b'), csrfA, "the same token gets a different MAC under another portal's key")
  t.notOk(signer.checkCsrf(token, 'portal-b', csrfA), "A's CSRF token does not pass as B's")
  // A payload re-pointed at portal B with portal A's MAC does not verify.
  const [payload, sig] = token.split('.')
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString())
  t.equal(
    signer.verify(`${Buffer.from(JSON.stringify({ ...claims, m: 'portal-b' })).toString('base64url')}.${sig}`),
    null,
  )
  // The MAC over the same payload text differs per portal: a portal's key is not the app-wide one.
  const other = createSessionSigner('test-session-secret-0123456789abcdef')
  const b = other.sign({ m: 'portal-b', u: 1, a: true, n: 'Admin' })
  t.not(signer.csrfFor(b, 'portal-a'), signer.csrfFor(b, 'portal-b'))
})
