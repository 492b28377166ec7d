/**
 * The app's side of the lifecycle against an emulator whose events can be lost: the install POST
 * carries APPLICATION_TOKEN (verified there by the OAuth exchange), so a lost ONAPPINSTALL
 * (events are queued and never retried) leaves nothing broken.
 * @see settings/oauth/simple-way.md, events/index.md
 */
import t from 'tap'
import { bootOf, openTab, startApp, startEmulator, type Teardown } from '../helpers.js'

t.test('ONAPPINSTALL lost: later events from the portal are still accepted, forged ones refused', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = emu.createPortal()
  emu.faults.events.loseNext = 1
  const reply = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  t.equal(reply.status, 200)
  t.match(
    emu.deliveries.filter((d) => d.event === 'ONAPPINSTALL'),
    [{ status: 0, fault: 'lost' }],
    'ONAPPINSTALL never reached the app',
  )
  t.equal(
    (await app.portals.find(portal.memberId))!.application_token,
    portal.applicationToken,
    'taken from the install POST',
  )

  const ok = await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 7 } })
  t.same(
    ok.map((r) => r.status),
    [200],
  )
  const forged = await emu.deliverEvent(
    portal,
    'ONCRMLEADUPDATE',
    { FIELDS: { ID: 8 } },
    { applicationToken: 'forged', url: `${url}/bitrix24/events` },
  )
  t.equal(forged[0]!.status, 401)
  const rows = await app.db.selectFrom('portal_events').selectAll().execute()
  t.same(
    rows.map((r) => JSON.parse(r.payload)),
    [{ FIELDS: { ID: '7' } }],
    'only the genuine event was recorded',
  )
})

t.test('an install POST with a refresh token the OAuth server refuses stores no application_token', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const res = await fetch(`${url}/bitrix24/install`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      AUTH_ID: 'x',
      REFRESH_ID: 'not-a-refresh-token',
      member_id: 'victim',
      APPLICATION_TOKEN: 'attacker',
    }).toString(),
  })
  t.not(res.status, 200)
  t.equal(await app.portals.find('victim'), undefined)
})

t.test('a late ONAPPINSTALL after the install POST is accepted and changes nothing', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = emu.createPortal()
  emu.faults.events.delayMs = 100
  await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  t.match(
    emu.deliveries.filter((d) => d.event === 'ONAPPINSTALL'),
    [{ status: 200 }],
  )
  t.equal((await app.portals.find(portal.memberId))!.application_token, portal.applicationToken)
})

t.test('after an app update the new application_token is taken, handlers rebound, later events accepted', async (t) => {
  const { emu, app, portal } = await installed(t)
  const replies = await emu.updateApp(portal, { version: '2' })
  t.same(
    replies.map((r) => r.status),
    [200],
    'ONAPPUPDATE accepted',
  )
  t.equal((await app.portals.find(portal.memberId))!.application_token, portal.applicationToken, 'the new token stored')
  t.ok(
    portal.events.some((b) => b.event === 'ONCRMLEADUPDATE'),
    'events rebound',
  )
  t.ok(
    portal.events.some((b) => b.event === 'ONAPPUPDATE'),
    'ONAPPUPDATE rebound for the next update',
  )
  t.ok(portal.placements.length > 0, 'placements rebound')
  const ok = await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 9 } })
  t.same(
    ok.map((r) => r.status),
    [200],
  )
  t.equal((await emu.updateApp(portal, { version: '3' }))[0]!.status, 200, 'a second update works too')
})

t.test('a forged ONAPPUPDATE changes nothing', async (t) => {
  const { emu, app, url, portal } = await installed(t)
  const before = await app.portals.find(portal.memberId)
  const res = await fetch(`${url}/bitrix24/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      event: 'ONAPPUPDATE',
      'data[VERSION]': '2',
      'auth[member_id]': portal.memberId,
      'auth[application_token]': 'attacker',
      'auth[access_token]': 'not-a-token',
      'auth[client_endpoint]': 'http://evil.example/rest/',
    }).toString(),
  })
  t.equal(res.status, 401)
  t.same(await app.portals.find(portal.memberId), before)
  t.same(
    (await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 1 } })).map((r) => r.status),
    [200],
    'the real token still works',
  )
})

t.test('a PUBLIC_URL Bitrix24 refuses: the install page says plainly what PUBLIC_URL must be', async (t) => {
  const emu = await startEmulator(t)
  const { url } = await startApp(t, { emu, config: { PUBLIC_URL: 'http://localhost:3000' } })
  const portal = emu.createPortal()
  const reply = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  t.equal(reply.status, 200)
  t.match(reply.body, /id="public-url-problem"/)
  t.match(reply.body, /http:\/\/localhost:3000/)
  t.match(reply.body, /PUBLIC_URL must be a public https URL with a domain/)
  t.same(portal.placements, [], 'nothing bound')
})

t.test(
  'a reachable handler address (127.0.0.1, the public host of the tests) binds without that warning',
  async (t) => {
    const emu = await startEmulator(t)
    const { url } = await startApp(t, { emu })
    const portal = emu.createPortal()
    const reply = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
    t.notMatch(reply.body, /public-url-problem/)
    t.ok(portal.placements.length > 0)
  },
)

/** What the portal's REST says is bound for the app now (placement.get / event.get with the app's token). */
/** The app installed on a fresh emulated portal the way Bitrix24 does it. */
async function installed(t: Teardown) {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = emu.createPortal()
  await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  return { emu, app, url, portal }
}

async function bindings(
  app: import('fastify').FastifyInstance,
  memberId: string,
): Promise<{ placements: string[]; events: string[] }> {
  const placements = (await app.b24.forPortal(memberId).call<Array<{ placement: string }>>('placement.get')).result
  const events = (await app.b24.forPortal(memberId).call<Array<{ event: string }>>('event.get')).result
  return { placements: placements.map((p) => p.placement).sort(), events: events.map((e) => e.event).sort() }
}

/** The problem lines a settings page shows (its boot state; the catalogue's templates sit beside them). */
function problemsOf(html: string): string {
  const boot = bootOf(html)
  if (!boot) throw new Error('the page carries no boot state')
  return boot.state.problems.join('\n')
}

t.test(
  'ONAPPUPDATE lost: the next administrator page open notices the new version, rebinds, takes the page APPLICATION_TOKEN; events work again',
  async (t) => {
    const { emu, app, url, portal } = await installed(t)
    const bound = await bindings(app, portal.memberId)
    t.match(
      await app.portals.find(portal.memberId),
      { app_version: '1', app_token_version: '1' },
      'the installed version is kept (app.info)',
    )
    const oldToken = portal.applicationToken!

    emu.faults.events.loseNext = 1
    const lost = await emu.updateApp(portal, { version: '2' })
    t.same(
      lost.map((r) => r.body),
      ['lost'],
      'precondition: the update notice never reached the app',
    )
    t.same(
      await bindings(app, portal.memberId),
      { placements: [], events: [] },
      'precondition: the update dropped every binding',
    )
    t.not(portal.applicationToken, oldToken, 'precondition: the portal has a new application_token')
    t.equal(
      (await app.b24.forPortal(portal.memberId).call<{ VERSION: unknown }>('app.info')).result.VERSION,
      2,
      'precondition: app.info names the new version',
    )
    const refused = await emu.deliverEvent(
      portal,
      'ONCRMLEADUPDATE',
      { FIELDS: { ID: 4 } },
      { url: `${url}/bitrix24/events` },
    )
    t.equal(refused[0]!.status, 401, 'precondition: an event with the new token is refused')

    // A manager (not an administrator) opening the app changes nothing: binding is an admin's business.
    const manager = await emu.openPlacement(portal, {
      url: `${url}/bitrix24/placement`,
      placement: 'CRM_LEAD_LIST_MENU',
      userId: 2,
    })
    t.equal(manager.status, 200, 'the tab opens for a manager')
    t.same(await bindings(app, portal.memberId), { placements: [], events: [] }, 'nothing bound by a manager open')
    t.equal((await app.portals.find(portal.memberId))!.application_token, oldToken, 'nor any token taken from it')

    const admin = await emu.openPlacement(portal, {
      url: `${url}/bitrix24/placement`,
      placement: 'CRM_LEAD_LIST_MENU',
      userId: 1,
    })
    t.equal(admin.status, 200, 'the tab opens')
    t.same(await bindings(app, portal.memberId), bound, 'placements and events are bound again, as at install')
    t.match(
      await app.portals.find(portal.memberId),
      { application_token: portal.applicationToken, app_version: '2', app_token_version: '2' },
      'the new token (from the page) and version stored',
    )
    t.notMatch(problemsOf(admin.body), /never reached the app/, 'the tab shows no update problem')

    t.same(
      (await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 5 } })).map((r) => r.status),
      [200],
      'an event with the new token is accepted',
    )
    const old = await emu.deliverEvent(
      portal,
      'ONCRMLEADUPDATE',
      { FIELDS: { ID: 6 } },
      { applicationToken: oldToken, url: `${url}/bitrix24/events` },
    )
    t.equal(old[0]!.status, 401, 'one with the old token is refused')
    const rows = await app.db.selectFrom('portal_events').selectAll().where('member_id', '=', portal.memberId).execute()
    t.same(
      rows.map((r) => JSON.parse(r.payload)),
      [{ FIELDS: { ID: '5' } }],
      'only the genuine event was recorded',
    )
    t.same(
      (await emu.updateApp(portal, { version: '3' })).map((r) => r.status),
      [200],
      'and the next update notice reaches the rebound ONAPPUPDATE handler',
    )
    t.match(
      await app.portals.find(portal.memberId),
      { application_token: portal.applicationToken, app_version: '3', app_token_version: '3' },
      'its token and version stored',
    )
  },
)

t.test(
  'ONAPPUPDATE lost and the page carries no APPLICATION_TOKEN: handlers rebound, the tab says plainly that events are refused, a page with the token fixes it',
  async (t) => {
    const { emu, app, url, portal } = await installed(t)
    const bound = await bindings(app, portal.memberId)
    const oldToken = portal.applicationToken!
    emu.faults.events.loseNext = 1
    t.same(
      (await emu.updateApp(portal, { version: '2' })).map((r) => r.body),
      ['lost'],
      'precondition: the update notice was lost',
    )

    // A frame POST without APPLICATION_TOKEN (the helper's form has none).
    const tab = await openTab(url, portal)
    t.equal(tab.status, 200, 'the tab opens')
    t.same(await bindings(app, portal.memberId), bound, 'the handlers are bound again')
    t.match(
      await app.portals.find(portal.memberId),
      { application_token: oldToken, app_version: '2', app_token_version: '1' },
      'the old token stays: no new one was given',
    )
    t.match(
      problemsOf(tab.html),
      /Bitrix24 updated this app to version 2, but its update notice never reached the app, so events from Bitrix24 \(such as lead changes\) are refused/,
      'the tab says what is wrong',
    )
    t.match(problemsOf(tab.html), /a portal administrator opens this app from the Bitrix24 menu/, 'and how to fix it')
    t.same(
      (await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 7 } })).map((r) => r.status),
      [401],
      'events with the new token are refused, as the tab says',
    )

    const fixed = await emu.openPlacement(portal, {
      url: `${url}/bitrix24/placement`,
      placement: 'CRM_LEAD_LIST_MENU',
      userId: 1,
    })
    t.equal(fixed.status, 200, 'a page with the token opens')
    t.notMatch(problemsOf(fixed.body), /never reached the app/, 'the problem is gone')
    t.match(
      await app.portals.find(portal.memberId),
      { application_token: portal.applicationToken, app_token_version: '2' },
      'its token is taken',
    )
    t.same(
      (await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 8 } })).map((r) => r.status),
      [200],
      'events are accepted again',
    )
  },
)

t.test(
  'a late ONAPPUPDATE arriving after the page open already recovered changes nothing: one binding each, the new token kept',
  async (t) => {
    const { emu, app, url, portal } = await installed(t)
    const bound = await bindings(app, portal.memberId)
    emu.faults.events.delayMs = 3000
    const late = emu.updateApp(portal, { version: '2' })
    const admin = await emu.openPlacement(portal, {
      url: `${url}/bitrix24/placement`,
      placement: 'CRM_LEAD_LIST_MENU',
      userId: 1,
    })
    t.equal(admin.status, 200, 'the tab opens')
    t.equal(
      emu.deliveries.filter((d) => d.event === 'ONAPPUPDATE').length,
      0,
      'precondition: the page open came before the update notice',
    )
    t.match(
      await app.portals.find(portal.memberId),
      { application_token: portal.applicationToken, app_version: '2' },
      'recovered at the page open',
    )
    t.same(
      (await late).map((r) => r.status),
      [200],
      'the late notice is accepted',
    )
    t.same(await bindings(app, portal.memberId), bound, 'one binding each, as at install')
    t.match(
      await app.portals.find(portal.memberId),
      { application_token: portal.applicationToken, app_version: '2', app_token_version: '2' },
      'the new token and version kept',
    )
    emu.faults.events.delayMs = 0
    t.same(
      (await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 9 } })).map((r) => r.status),
      [200],
      'events accepted',
    )
  },
)
