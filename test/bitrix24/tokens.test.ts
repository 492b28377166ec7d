import t from 'tap'
import { installedPortal, rejection, startApp, startEmulator } from '../helpers.js'

t.test('an expired token is refreshed, persisted, and the call succeeds', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const before = await app.portals.find(portal.memberId)
  emu.faults.expireAllTokens()
  const refreshes = emu.counters.refreshes
  const res = await app.b24.forPortal(portal.memberId).call<{ ID: number }>('profile')
  t.equal(Number(res.result.ID), 1)
  t.equal(emu.counters.refreshes, refreshes + 1)
  const after = await app.portals.find(portal.memberId)
  t.not(after!.access_token, before!.access_token)
  t.not(after!.refresh_token, before!.refresh_token, 'rotated refresh token stored')
  t.equal(after!.state, 'active')
})

t.test('concurrent calls during expiry cause exactly one refresh', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  emu.faults.expireAllTokens()
  const refreshes = emu.counters.refreshes
  const client = app.b24.forPortal(portal.memberId)
  const results = await Promise.all(Array.from({ length: 10 }, () => client.call('app.info')))
  t.equal(results.length, 10)
  t.equal(emu.counters.refreshes, refreshes + 1)
})

t.test('a token close to expiry is refreshed before use (no expired_token round trip)', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu, config: { B24_TOKEN_REFRESH_MARGIN_S: 120 } })
  const portal = await installedPortal(emu, url)
  // As if the stored token were issued an hour ago: 60 s left, inside the 120 s margin.
  await app.db
    .updateTable('portals')
    .set({ expires_at: Math.floor(Date.now() / 1000) + 60 })
    .execute()
  app.b24.forget(portal.memberId)
  const refreshes = emu.counters.refreshes
  await app.b24.forPortal(portal.memberId).call('app.info')
  await app.b24.forPortal(portal.memberId).call('app.info')
  t.equal(emu.counters.refreshes, refreshes + 1, 'refreshed once, then the fresh token is used')
  t.notOk(
    emu.calls.some((c) => c.memberId === portal.memberId && c.error === 'expired_token'),
    'no call was refused as expired',
  )
})

t.test('a refused refresh flags the portal as needing re-authorisation and keeps its data', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  emu.faults.expireAllTokens()
  emu.faults.refreshFails = 'invalid_grant'
  const refused = await rejection(app.b24.forPortal(portal.memberId).call('app.info'))
  t.equal(refused.kind, 'reauth_required')
  t.equal(refused.code, 'B24_ERR_REAUTH_REQUIRED')
  t.equal((refused as { b24Code?: string }).b24Code, 'invalid_grant', "the OAuth server's own code is kept")
  const row = await app.portals.find(portal.memberId)
  t.equal(row!.state, 'needs_reauth')
  t.match(row!.state_reason, /re-authorise/)
  t.ok(row!.refresh_token, 'tokens kept for inspection')
  t.ok(await app.settings.find(portal.memberId), 'settings kept')
  // Later calls fail fast with the same reason instead of hammering the OAuth server.
  const refreshes = emu.counters.refreshes
  const again = await rejection(app.b24.forPortal(portal.memberId).call('app.info'))
  t.equal(again.kind, 'reauth_required')
  t.equal((again as { b24Code?: string }).b24Code, 'NEEDS_REAUTH', 'refused before any request')
  t.equal(emu.counters.refreshes, refreshes)
})

t.test('a transient OAuth failure does not flag the portal', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  emu.faults.expireAllTokens()
  emu.faults.refreshFails = 500
  await t.rejects(app.b24.forPortal(portal.memberId).call('app.info'))
  t.equal((await app.portals.find(portal.memberId))!.state, 'active')
  emu.faults.refreshFails = false
  const res = await app.b24.forPortal(portal.memberId).call('app.info')
  t.ok(res.result)
})
