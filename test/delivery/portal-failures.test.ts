import t from 'tap'
import { api, installedPortal, openTab, startApp, startEmulator, waitFor } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import type { Emulator, Portal } from '../emulator/index.js'

/** Bitrix24 stops accepting the access tokens it issued to the portal (the refresh token still works). */
function revokeAccessTokens(emu: Emulator, portal: Portal): void {
  const store = (emu as unknown as { tokens: { access: Map<string, { memberId: string; revoked: boolean }> } }).tokens
  for (const r of store.access.values()) if (r.memberId === portal.memberId) r.revoked = true
}

const batchCalls = (emu: Emulator, portal: Portal) =>
  emu.calls.filter((c) => c.memberId === portal.memberId && c.method === 'batch')

t.test('invalid_token during delivery: one refresh, then the leads go through', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { secret: conf.signing_secret })
  await waitFor('first delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 1)
  revokeAccessTokens(emu, portal)
  const refreshes = emu.counters.refreshes
  await postWebhook(url, conf.webhook_key, notificationBody([sampleLead(), sampleLead()]), {
    secret: conf.signing_secret,
  })
  await waitFor('delivered after a refresh', async () => (await app.leads.counts(portal.memberId)).delivered === 3)
  t.equal(emu.counters.refreshes, refreshes + 1, 'refreshed once')
  t.ok(
    emu.calls.some((c) => c.memberId === portal.memberId && c.status === 401),
    'Bitrix24 did refuse the token',
  )
  t.equal((await app.portals.find(portal.memberId))!.state, 'active')
  t.equal(portal.leads.size, 3)
})

t.test(
  'invalid_token and a refused refresh: the portal needs re-authorisation, delivery stops asking, leads wait',
  async (t) => {
    const emu = await startEmulator(t)
    const { app, url } = await startApp(t, { emu })
    const portal = await installedPortal(emu, url)
    const conf = (await app.settings.find(portal.memberId))!
    revokeAccessTokens(emu, portal)
    emu.faults.refreshFails = 'invalid_grant'
    await postWebhook(url, conf.webhook_key, notificationBody([sampleLead(), sampleLead()]), {
      secret: conf.signing_secret,
    })
    const marked = await waitFor('portal marked', async () => {
      const p = await app.portals.find(portal.memberId)
      return p?.state === 'needs_reauth' ? p : null
    })
    t.match(marked.state_reason, /re-authorise/)
    const sent = batchCalls(emu, portal).length
    await new Promise((r) => setTimeout(r, 1000))
    t.equal(batchCalls(emu, portal).length, sent, 'no batch sent while the portal waits for a person')
    t.ok(sent <= 2, `at most the refused duplicate look-up and batch (${sent})`)
    const counts = await app.leads.counts(portal.memberId)
    t.equal(counts.failed, 0, 'no lead failed')
    t.equal(counts.queued + counts.received, 2, 'both leads wait')

    // The administrator opens the app again (a re-install with fresh tokens): the leads go.
    emu.faults.clear()
    const again = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
    t.equal(again.status, 200)
    app.dispatcher.notify(portal.memberId)
    await waitFor(
      'delivered after re-authorisation',
      async () => (await app.leads.counts(portal.memberId)).delivered === 2,
      10_000,
    )
    t.equal(portal.leads.size, 2)
  },
)

t.test('raising the rate from 2 to 5 req/s applies to the backlog at once', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu, delivery: { batchSize: 1, concurrency: 8 } })
  const portal = await installedPortal(emu, url, { drainRate: 5, burst: 250 })
  const conf = (await app.settings.find(portal.memberId))!
  const page = await openTab(url, portal)
  await postWebhook(url, conf.webhook_key, notificationBody(Array.from({ length: 40 }, () => sampleLead())), {
    secret: conf.signing_secret,
  })
  await waitFor('backlog started', () => batchCalls(emu, portal).length >= 3)
  const changedAt = Date.now()
  const r = await api(url, page).post('options', {
    dedup_policy: 'off',
    rate_per_s: 5,
    default_country: conf.default_country ?? 'VN',
    verify_mode: conf.verify_mode,
  })
  t.equal(r.status, 200)
  await waitFor('all delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 40, 20_000)
  const starts = batchCalls(emu, portal).map((c) => c.at)
  // Arrival times jitter around the app's start times (more on a loaded machine): compare rates over spans.
  const inWindow = (from: number, ms: number) => starts.filter((x) => x >= from && x < from + ms).length
  const maxIn = (from: number, to: number, ms: number) =>
    Math.max(0, ...starts.filter((x) => x >= from && x < to).map((s) => inWindow(s, ms)))
  t.ok(maxIn(0, changedAt - 2000, 2000) <= 5, 'about 2 a second before the change')
  const after = starts.filter((x) => x >= changedAt + 1000)
  const perSecond = (after.length - 1) / ((after[after.length - 1]! - after[0]!) / 1000)
  t.ok(perSecond > 3, `faster than 2 a second after the change (${perSecond.toFixed(1)}/s)`)
  t.equal(emu.counters.rateLimited, 0, 'never beyond the portal bucket')
  t.equal(portal.leads.size, 40)
})

t.test('an HTTP error without a Bitrix24 error (a 404 page) pauses the portal, not the leads', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  const stored = (await app.portals.find(portal.memberId))!
  const page = await openTab(url, portal)
  // The portal's REST endpoint answers a plain 404 page (a wrong or moved endpoint).
  await app.db
    .updateTable('portals')
    .set({ client_endpoint: `${emu.url}/no-such-path/` })
    .where('member_id', '=', portal.memberId)
    .execute()
  app.b24.forget(portal.memberId)
  await postWebhook(url, conf.webhook_key, notificationBody([sampleLead(), sampleLead()]), {
    secret: conf.signing_secret,
  })
  await waitFor('paused', () => app.dispatcher.pauseOf(portal.memberId))
  const state = (await (await api(url, page).get('state')).json()) as { problems: string[] }
  t.ok(
    state.problems.some((p) => /paused/.test(p) && /404/.test(p)),
    `the tab says why: ${state.problems.join(' | ')}`,
  )
  await new Promise((r) => setTimeout(r, 800))
  const counts = await app.leads.counts(portal.memberId)
  t.equal(counts.failed, 0, 'no lead failed')
  t.equal(counts.delivered, 0)

  // The endpoint works again: the retry delivers both and the pause is gone.
  await app.db
    .updateTable('portals')
    .set({ client_endpoint: stored.client_endpoint })
    .where('member_id', '=', portal.memberId)
    .execute()
  app.b24.forget(portal.memberId)
  await waitFor(
    'delivered after recovery',
    async () => (await app.leads.counts(portal.memberId)).delivered === 2,
    10_000,
  )
  t.equal(app.dispatcher.pauseOf(portal.memberId), null)
  t.equal(portal.leads.size, 2)
})
