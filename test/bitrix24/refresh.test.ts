/**
 * The app's own single-flight token refresh (src/bitrix24/client.ts), not the SDK's: the SDK only
 * merges refreshes that overlap in time on one client. A request sent with the old token whose
 * expired_token answer arrives after the refresh has finished must get the fresh tokens, not spend
 * the refresh token a second time; a rotated refresh token must be the one the next refresh spends.
 * Refresh tokens are single-use (the emulator refuses a spent one with invalid_grant).
 * @see https://apidocs.bitrix24.com/settings/oauth/index.html
 */
import t from 'tap'
import type { Emulator, Portal } from '../emulator/index.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import {
  api,
  installedPortal,
  openTab,
  startApp,
  startEmulator,
  waitFor,
  type StartedApp,
  type Teardown,
} from '../helpers.js'

function refreshes(emu: Emulator, from: number) {
  return emu.oauthCalls.slice(from).filter((c) => c.grantType === 'refresh_token')
}

/** Each lead of the portal's, by ORIGIN_ID → how many times it is there. */
function originCounts(portal: Portal): Map<string, number> {
  const count = new Map<string, number>()
  for (const l of portal.leads.values()) count.set(String(l.ORIGIN_ID), (count.get(String(l.ORIGIN_ID)) ?? 0) + 1)
  return count
}

async function setup(
  t: Teardown,
): Promise<{ emu: Emulator; started: StartedApp; portal: Portal; csrf: string; session: string }> {
  const emu = await startEmulator(t)
  const started = await startApp(t, { emu })
  // Enterprise: 5 requests at once, so the backlog's batches and a person's request are in flight together.
  const portal = await installedPortal(emu, started.url, { plan: 'enterprise' })
  started.app.portalRates.set(portal.memberId, 5)
  const { session, csrf } = await openTab(started.url, portal)
  return { emu, started, portal, session, csrf }
}

t.test(
  'the token expires under a backlog (2 batches at once) and a settings-tab request sent later: one refresh, every lead once',
  async (t) => {
    const { emu, started, portal, session, csrf } = await setup(t)
    const { app, url } = started
    const conf = (await app.settings.find(portal.memberId))!
    const from = emu.oauthCalls.length
    const callsFrom = emu.calls.length
    // Every answer takes 1.5 s, so the requests below are all sent with the old token, and the tab's
    // expired_token answer arrives well after the backlog's refusals have been refreshed away.
    emu.faults.latencyMs = 1500
    emu.faults.expireAllTokens()

    const leads = Array.from({ length: 120 }, () => sampleLead())
    // (at most 100 leads per notification)
    for (const part of [leads.slice(0, 60), leads.slice(60)]) {
      t.equal(
        (await postWebhook(url, conf.webhook_key, notificationBody(part), { secret: conf.signing_secret })).status,
        200,
        'leads accepted',
      )
    }
    // The backlog's first requests (duplicate look-ups, then adds) of two delivery loops.
    const backlogCalls = () =>
      emu.calls.slice(callsFrom).filter((c) => !c.inBatch && !JSON.stringify(c.params).includes('crm.lead.fields'))
    await waitFor('two backlog requests in flight', () => backlogCalls().length >= 2, 10_000, 5)
    await new Promise((r) => setTimeout(r, 500))
    t.equal(
      refreshes(emu, from).length,
      0,
      'precondition: no refresh yet, so the tab request goes out with the old token too',
    )
    const tab = api(url, { session, csrf }).get('fields')
    const tabCall = await waitFor(
      'the tab request sent',
      () =>
        emu.calls
          .slice(callsFrom)
          .find((c) => c.method === 'batch' && JSON.stringify(c.params).includes('crm.lead.fields')),
      10_000,
      5,
    )

    const res = await tab
    t.equal(res.status, 200, 'the tab got its answer')
    await waitFor('all delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 120, 60_000, 50)

    const refused = emu.calls.slice(callsFrom).filter((c) => c.error === 'expired_token')
    t.ok(
      refused.length >= 3,
      `precondition: both batches and the tab request were refused as expired (${refused.length})`,
    )
    t.equal(tabCall.error, 'expired_token', 'the tab request was refused with the old token')
    const done = refreshes(emu, from)
    t.same(
      done.map((c) => c.status),
      [200],
      'exactly one refresh at the OAuth server, and it succeeded',
    )
    t.ok(
      done[0]!.at > tabCall.at,
      'the refresh came after the tab request was sent (it was answered expired_token after the refresh)',
    )

    const stored = (await app.portals.find(portal.memberId))!
    t.equal(stored.state, 'active', 'the portal is not marked for re-authorisation')
    const count = originCounts(portal)
    t.same(
      leads.map((l) => count.get(String(l.id)) ?? 0),
      leads.map(() => 1),
      'every lead exactly once in Bitrix24',
    )
    t.equal(portal.leads.size, 120, 'and nothing else')
  },
)

t.test('a second expiry later refreshes again, with the rotated refresh token the first refresh stored', async (t) => {
  const { emu, started, portal, session, csrf } = await setup(t)
  const { app, url } = started
  const conf = (await app.settings.find(portal.memberId))!
  const installed = (await app.portals.find(portal.memberId))!

  emu.faults.expireAllTokens()
  const first = emu.oauthCalls.length
  const wave1 = Array.from({ length: 100 }, () => sampleLead())
  await postWebhook(url, conf.webhook_key, notificationBody(wave1), { secret: conf.signing_secret })
  await waitFor('wave 1 delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 100, 30_000, 50)
  const r1 = refreshes(emu, first)
  t.same(
    r1.map((c) => [c.status, c.refreshToken]),
    [[200, installed.refresh_token]],
    "one refresh, spending the install's refresh token",
  )
  const rotated = (await app.portals.find(portal.memberId))!.refresh_token
  t.not(rotated, installed.refresh_token, 'the rotated refresh token is stored')

  // The new access token expires too, within seconds of the first refresh, while two delivery
  // loops and a settings-tab request are in flight with it (answers take 1 s, spread out).
  emu.faults.latencyMs = 1000
  emu.faults.expireAllTokens()
  const second = emu.oauthCalls.length
  const callsFrom = emu.calls.length
  const wave2 = Array.from({ length: 100 }, () => sampleLead())
  await postWebhook(url, conf.webhook_key, notificationBody(wave2), { secret: conf.signing_secret })
  await waitFor(
    'two backlog requests in flight',
    () => emu.calls.slice(callsFrom).filter((c) => !c.inBatch).length >= 2,
    10_000,
    5,
  )
  await new Promise((r) => setTimeout(r, 300))
  const tab = await api(url, { session, csrf }).get('fields')
  t.equal(tab.status, 200, 'the tab got its answer')
  await waitFor('wave 2 delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 200, 30_000, 50)
  const r2 = refreshes(emu, second)
  t.same(
    r2.map((c) => [c.status, c.refreshToken]),
    [[200, rotated]],
    'exactly one more refresh, spending the rotated token',
  )
  t.ok(
    emu.calls.slice(callsFrom).some((c) => c.error === 'expired_token'),
    'precondition: the portal did refuse the expired token',
  )

  const stored = (await app.portals.find(portal.memberId))!
  t.equal(stored.state, 'active', 'the portal is not marked for re-authorisation')
  t.not(stored.refresh_token, rotated, 'and the token it got back is stored in turn')
  const count = originCounts(portal)
  const all = [...wave1, ...wave2]
  t.same(
    all.map((l) => count.get(String(l.id)) ?? 0),
    all.map(() => 1),
    'every lead exactly once',
  )
})
