/**
 * "Connect TikTok" end to end over real HTTP: the app, the Bitrix24 emulator and the TikTok API for
 * Business emulator. An admin connects, picks ad accounts and forms, the app subscribes, and a lead
 * submitted on TikTok's side reaches Bitrix24. Every refusal (forged, replayed or expired state, a
 * non-admin, a denial, an ad account of another portal) changes nothing.
 * @see https://business-api.tiktok.com/portal/docs (Lead Generation subscriptions, authorisation)
 */
import t from 'tap'
import {
  api,
  installedPortal,
  logCapture,
  metricsAuth,
  openTab,
  startApp,
  startEmulator,
  TIKTOK_APP_SECRET,
  waitFor,
} from '../helpers.js'
import { approve, b24Leads, connect, validSubs, view, world } from './flow.js'

t.test('not configured: the tab says so, Connect is refused, nothing else changes', async (t) => {
  const emu = await startEmulator(t)
  const { url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const tab = api(url, await openTab(url, portal))
  const v = (await (await tab.get('tiktok')).json()) as { configured: boolean; problems: string[] }
  t.equal(v.configured, false)
  t.match(v.problems.join(' '), /not configured/)
  const res = await tab.post('tiktok/connect')
  t.equal(res.status, 409)
  t.equal(((await res.json()) as { error: string }).error, 'APP_ERR_TIKTOK_NOT_CONFIGURED')
})

t.test(
  'connect → pick an account → subscribed → a lead submitted on TikTok reaches Bitrix24 with its fields',
  async (t) => {
    const logs = logCapture()
    const w = await world(t, { logs: logs.stream })
    const res = await w.tab.post('tiktok/connect')
    const { authUrl } = (await res.json()) as { authUrl: string }
    const u = new URL(authUrl)
    t.equal(`${u.origin}${u.pathname}`, w.tt.authUrl, "TikTok's authorisation page")
    t.equal(u.searchParams.get('app_id'), 'tt-app-test')
    t.equal(u.searchParams.get('redirect_uri'), `${w.started.url}/tiktok/oauth/callback`)

    const { location } = await w.tt.approve({
      state: u.searchParams.get('state')!,
      redirectUri: u.searchParams.get('redirect_uri')!,
    })
    const cb = await fetch(location)
    t.equal(cb.status, 200)
    t.match(await cb.text(), /2 ad account/)
    t.match(cb.headers.get('content-security-policy'), /script-src 'self'/)

    const pending = await view(w)
    t.same(pending.grant!.advertisers.map((a) => a.advertiserName).sort(), ['Acme Ads', 'Second Account'])
    t.same(pending.connections, [], 'nothing connected before the admin picks')

    const picked = (await (
      await w.tab.post('tiktok/grant', { grantId: pending.grant!.id, advertiserIds: [w.adv.id], importDays: 0 })
    ).json()) as Awaited<ReturnType<typeof view>>
    t.equal(picked.grant, null)
    t.equal(picked.connections.length, 1)
    const conn = picked.connections[0]!
    t.equal(conn.status, 'active')
    t.equal(conn.allForms, true)
    t.same(conn.forms.map((f) => f.title).sort(), ['Autumn promo', 'Spring promo'])
    t.same(
      conn.forms.find((f) => f.pageId === w.form.pageId)!.fields,
      ['name', 'email', 'phone_number', 'Which service?'],
      'questions read from the form (page/field/get)',
    )
    t.same(conn.forms[0]!.unmappedCustom, ['Which service?'])

    const subs = validSubs(w.tt)
    t.equal(subs.length, 1, 'one advertiser-wide subscription')
    t.equal(subs[0]!.advertiserId, w.adv.id)
    t.equal(subs[0]!.pageId, null)
    const settings = await w.started.app.settings.find(w.portal.memberId)
    t.equal(
      subs[0]!.callbackUrl,
      `${w.started.url}/tiktok/webhook/${settings!.webhook_key}`,
      "the portal's own webhook URL",
    )

    // The mapping editor offers the form's questions before any lead arrived.
    const state = (await (await w.tab.get('state')).json()) as { questions: string[] }
    t.ok(state.questions.includes('Which service?'))

    const { leadId } = w.tt.submitLead(w.form.pageId, {
      name: 'Nguyen Van An',
      email: 'an@example.com',
      phone_number: '+84 91 234 5678',
      'Which service?': 'Installation',
    })
    const lead = await waitFor('the lead in Bitrix24', () => b24Leads(w.portal).find((l) => l.ORIGIN_ID === leadId))
    t.equal(`${lead.NAME} ${lead.LAST_NAME}`, 'Nguyen Van An')
    t.match(JSON.stringify(lead.PHONE), /\+84912345678/, 'phone in E.164')
    t.match(JSON.stringify(lead.EMAIL), /an@example\.com/)
    t.match(String(lead.COMMENTS), /Which service\?[\s\S]*Installation/)
    const row = await w.started.app.leads.findByTikTokId(w.portal.memberId, leadId)
    t.equal(row!.verify_valid, 1, "the push is signed with the developer app's secret and verifies")

    // The advertiser token is stored sealed, never in clear.
    const stored = await w.started.app.tiktok.repo.findConnection(w.adv.id)
    t.match(stored!.token_sealed, /^v1\./)
    const dump = JSON.stringify(w.started.database.sqlite.prepare('select * from tiktok_connections').all())
    const token = w.started.app.tiktok.box.open(stored!.token_sealed)
    t.notOk(dump.includes(token), 'no clear token in the table')
    const logged = logs.lines.join('')
    t.ok(logged.includes('TikTok'), 'the flow was logged')
    for (const secret of [token, TIKTOK_APP_SECRET, new URL(location).searchParams.get('auth_code')!])
      t.notOk(logged.includes(secret), 'no token, app secret or auth code in the logs')

    const metrics = await (await fetch(`${w.started.url}/metrics`, metricsAuth)).text()
    t.match(
      metrics,
      new RegExp(
        `tiktok_connection_state\\{member_id="${w.portal.memberId}",advertiser_id="${w.adv.id}",state="active"\\} 1`,
      ),
    )
  },
)

t.test('forms: only some → one subscription each, leads of the others do not come; all again → one', async (t) => {
  const w = await world(t)
  await connect(w)
  let res = await w.tab.post('tiktok/forms', { advertiserId: w.adv.id, allForms: false, pageIds: [w.form.pageId] })
  t.equal(res.status, 200)
  const v = (await res.json()) as Awaited<ReturnType<typeof view>>
  t.same(
    v.connections[0]!.forms.filter((f) => f.selected).map((f) => f.pageId),
    [w.form.pageId],
  )
  await waitFor(
    'the old subscription cancelled',
    () => validSubs(w.tt).length === 1 && validSubs(w.tt)[0]!.pageId === w.form.pageId,
  )

  const other = w.tt.submitLead(w.form2.pageId, { name: 'Not Wanted', phone_number: '+84900000001' })
  const wanted = w.tt.submitLead(w.form.pageId, { name: 'Wanted Lead', phone_number: '+84900000002' })
  await waitFor('the wanted lead', () => b24Leads(w.portal).find((l) => l.ORIGIN_ID === wanted.leadId))
  await w.tt.settled()
  t.notOk(
    b24Leads(w.portal).find((l) => l.ORIGIN_ID === other.leadId),
    'a form not picked sends nothing',
  )

  res = await w.tab.post('tiktok/forms', { advertiserId: w.adv.id, allForms: true, pageIds: [] })
  t.equal(res.status, 200)
  await waitFor(
    'back to one advertiser-wide subscription',
    () => validSubs(w.tt).length === 1 && validSubs(w.tt)[0]!.pageId === null,
  )
})

t.test(
  'refusals: forged, replayed and expired state, a denial, a non-admin: nothing stored, a clear message',
  async (t) => {
    const w = await world(t)
    const { authUrl } = (await (await w.tab.post('tiktok/connect')).json()) as { authUrl: string }
    const u = new URL(authUrl)
    const state = u.searchParams.get('state')!
    const redirectUri = u.searchParams.get('redirect_uri')!

    // Forged: the payload re-pointed at another portal keeps the old signature.
    const [data, sig] = state.split('.') as [string, string]
    const payload = JSON.parse(Buffer.from(data, 'base64url').toString())
    const forged = `${Buffer.from(JSON.stringify({ ...payload, m: 'another-member' })).toString('base64url')}.${sig}`
    const { location: forgedLoc } = await w.tt.approve({ state: forged, redirectUri })
    let res = await fetch(forgedLoc)
    t.equal(res.status, 400)
    t.match(await res.text(), /not valid/)

    // The genuine one works once …
    const { location } = await w.tt.approve({ state, redirectUri })
    t.equal((await fetch(location)).status, 200)
    const grant = (await view(w)).grant
    t.ok(grant)
    await w.tab.post('tiktok/grant/cancel', { grantId: grant!.id })
    // … and never again.
    const again = await w.tt.approve({ state, redirectUri })
    res = await fetch(again.location)
    t.equal(res.status, 400)
    t.match(await res.text(), /already used/)
    t.equal((await view(w)).grant, null, 'a replay stores nothing')

    // Expired: a state whose stored row ran out.
    const { authUrl: url2 } = (await (await w.tab.post('tiktok/connect')).json()) as { authUrl: string }
    w.started.database.sqlite.prepare('update tiktok_oauth_states set expires_at = 1').run()
    const late = await w.tt.approve({ state: new URL(url2).searchParams.get('state')!, redirectUri })
    res = await fetch(late.location)
    t.equal(res.status, 400)
    t.equal((await view(w)).grant, null)

    // The advertiser denies: TikTok redirects without an auth_code.
    const { authUrl: url3 } = (await (await w.tab.post('tiktok/connect')).json()) as { authUrl: string }
    const denied = new URL(redirectUri)
    denied.searchParams.set('state', new URL(url3).searchParams.get('state')!)
    denied.searchParams.set('error', 'access_denied')
    res = await fetch(denied)
    t.equal(res.status, 400)
    t.match(await res.text(), /did not grant access/)
    t.equal((await view(w)).grant, null)

    // A user who is not an administrator cannot start a connection, or pick accounts.
    const user = api(w.started.url, await openTab(w.started.url, w.portal, 2))
    res = await user.post('tiktok/connect')
    t.equal(res.status, 403)
    t.equal((await user.get('tiktok')).status, 200, 'but can see the section')
    t.equal(validSubs(w.tt).length, 0)
    t.equal((await w.started.app.tiktok.repo.listConnections(w.portal.memberId)).length, 0)
  },
)

t.test('one ad account serves one portal: a second portal is told where it is connected', async (t) => {
  const w = await world(t)
  await connect(w)
  const other = await installedPortal(w.emu, w.started.url)
  const tab2 = api(w.started.url, await openTab(w.started.url, other))
  const cb = await approve({ tt: w.tt, tab: tab2 })
  t.equal(cb.status, 200)
  const v = await view({ tab: tab2 })
  const taken = v.grant!.advertisers.find((a) => a.advertiserId === w.adv.id)!
  t.equal(taken.connectedElsewhere, w.portal.domain, 'the picker names the other portal')
  const res = await tab2.post('tiktok/grant', { grantId: v.grant!.id, advertiserIds: [w.adv.id], importDays: 0 })
  t.equal(res.status, 409)
  const body = (await res.json()) as { error: string; message: string }
  t.equal(body.error, 'APP_ERR_TIKTOK_AD_ACCOUNT_TAKEN')
  t.match(body.message, w.portal.domain)
  t.equal(
    (await w.started.app.tiktok.repo.findConnection(w.adv.id))!.member_id,
    w.portal.memberId,
    "still the first portal's",
  )
  // The second portal's own session cannot touch the first portal's connection either.
  t.equal((await tab2.post('tiktok/disconnect', { advertiserId: w.adv.id })).status, 404)
  t.equal(validSubs(w.tt).length, 1)
})

t.test('disconnect and uninstall (with and without CLEAN) unsubscribe and forget the token', async (t) => {
  const w = await world(t)
  await connect(w, [w.adv.id, w.adv2.id])
  t.equal(validSubs(w.tt).length, 2)
  const res = await w.tab.post('tiktok/disconnect', { advertiserId: w.adv2.id })
  t.equal(res.status, 200)
  t.same(
    ((await res.json()) as Awaited<ReturnType<typeof view>>).connections.map((c) => c.advertiserId),
    [w.adv.id],
  )
  await waitFor('the subscription cancelled at TikTok', () => validSubs(w.tt).length === 1)

  await w.emu.uninstallApp(w.portal, { clean: false })
  await waitFor('every subscription cancelled', () => validSubs(w.tt).length === 0)
  t.equal((await w.started.app.tiktok.repo.allConnections()).length, 0, 'tokens forgotten')
  // TikTok cancels before it answers; the outbox row goes once the answer is back.
  await waitFor('the outbox emptied', async () => (await w.started.app.tiktok.repo.pendingUnsubscribes()) === 0)
  t.equal(await w.started.app.tiktok.repo.pendingUnsubscribes(), 0)

  // CLEAN: a second portal's connection goes with all its data.
  const other = await installedPortal(w.emu, w.started.url)
  const tab2 = api(w.started.url, await openTab(w.started.url, other))
  const cb = await approve({ tt: w.tt, tab: tab2 })
  t.equal(cb.status, 200)
  const g = (await view({ tab: tab2 })).grant!
  t.equal((await tab2.post('tiktok/grant', { grantId: g.id, advertiserIds: [w.adv.id], importDays: 0 })).status, 200)
  t.equal(validSubs(w.tt).length, 1)
  await w.emu.uninstallApp(other, { clean: true })
  await waitFor('cancelled after a clean uninstall', () => validSubs(w.tt).length === 0)
  t.equal((await w.started.app.tiktok.repo.allConnections()).length, 0)
})
