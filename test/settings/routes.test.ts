import t from 'tap'
import { Errors } from '../../src/errors.js'
import { createSessionSigner } from '../../src/settings/session.js'
import { api, installedPortal, openTab, startApp, startEmulator, waitFor, type Teardown } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import type { Emulator, Portal } from '../emulator/index.js'

async function setup(
  t: Teardown,
): Promise<{ emu: Emulator; app: Awaited<ReturnType<typeof startApp>>['app']; url: string; portal: Portal }> {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  return { emu, app, url, portal }
}

t.test('an administrator opens the tab: verified, framed by the portal only, no secrets in the page', async (t) => {
  const { app, url, portal } = await setup(t)
  const page = await openTab(url, portal)
  t.equal(page.status, 200)
  const host = portal.domain.split('/')[0]
  t.match(page.headers.get('content-security-policy'), `frame-ancestors https://${host} http://${host};`)
  t.notMatch(page.headers.get('content-security-policy'), /script-src[^;]*unsafe-inline/, 'no inline scripts allowed')
  t.equal(page.headers.get('cache-control'), 'no-store')
  t.ok(page.session && page.csrf, 'session and CSRF tokens embedded')
  // The tab's words ride in the page, the server's own lines (install page, problems) do not.
  const words = Object.keys(page.boot?.strings ?? {})
  t.ok(words.includes('h_status') && words.includes('h_log'), "the tab's words are embedded")
  t.same(
    words.filter((k) => /^(install_|ttcb_|problem_|tt_status_|alert_)/.test(k)),
    [],
    'no server-only line in the page',
  )
  const stored = await app.portals.find(portal.memberId)
  const conf = await app.settings.find(portal.memberId)
  for (const secret of [stored!.access_token!, stored!.refresh_token!, portal.applicationToken!, conf!.signing_secret])
    t.notOk(page.html.includes(secret), 'no token or secret in the page')
  t.ok(page.html.includes(conf!.webhook_key), 'the webhook URL is shown')
  const state = await (await api(url, page).get('state')).json()
  t.match(state, {
    portal: { memberId: portal.memberId, state: 'active' },
    user: { id: 1, isAdmin: true },
    webhook: { verifyMode: 'log_only' },
  })
})

t.test('forged AUTH_ID, unknown portal and uninstalled portal are refused', async (t) => {
  const { emu, url, portal } = await setup(t)
  const forged = await fetch(`${url}/bitrix24/placement`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ AUTH_ID: 'forged-token', member_id: portal.memberId }),
  })
  t.equal(forged.status, 401)
  const unknown = await fetch(`${url}/bitrix24/app`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ AUTH_ID: 'x', member_id: 'nope' }),
  })
  t.equal(unknown.status, 401)
  const page = await openTab(url, portal)
  await emu.uninstallApp(portal, { clean: false })
  t.equal((await api(url, page).get('state')).status, 401, 'sessions die with the install')
})

t.test('a non-administrator gets a read-only view', async (t) => {
  const { app, url, portal } = await setup(t)
  const page = await openTab(url, portal, 2)
  t.equal(page.status, 200)
  const a = api(url, page)
  t.match(await (await a.get('state')).json(), { user: { id: 2, isAdmin: false } })
  const before = await app.settings.find(portal.memberId)
  for (const [path, body] of [
    ['options', { dedup_policy: 'skip', rate_per_s: 5, default_country: 'VN', verify_mode: 'enforce' }],
    ['mapping', { rules: [], constants: {} }],
    ['secret/rotate', {}],
    ['secret/reveal', {}],
    ['test-lead', {}],
    ['leads/resend', { all: true }],
  ] as const) {
    const res = await a.post(path, body)
    t.equal(res.status, 403, path)
  }
  t.same(await app.settings.find(portal.memberId), before, 'nothing changed')
  t.equal(
    (await a.post('preview', { mapping: { rules: [], constants: {} } })).status,
    200,
    'preview is read-only and allowed',
  )
})

t.test("missing, forged, expired or another portal's session; missing CSRF: refused, nothing changed", async (t) => {
  const { app, url, portal, emu } = await setup(t)
  const other = await installedPortal(emu, url)
  const page = await openTab(url, portal)
  const otherPage = await openTab(url, other)
  const change = { dedup_policy: 'skip', rate_per_s: 5, default_country: 'VN', verify_mode: 'enforce' }
  const before = await app.settings.find(portal.memberId)

  t.equal((await api(url, {}).get('state')).status, 401, 'no session')
  t.equal((await api(url, { session: 'garbage.token' }).get('state')).status, 401, 'garbage')
  // Re-point the other portal's session at this portal, keeping its signature.
  const [payload, sig] = otherPage.session.split('.')
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString())
  const swapped = `${Buffer.from(JSON.stringify({ ...claims, m: portal.memberId })).toString('base64url')}.${sig}`
  t.equal(
    (await api(url, { session: swapped, csrf: otherPage.csrf }).post('options', change)).status,
    401,
    "another portal's session",
  )
  t.equal(
    (await api(url, { session: otherPage.session, csrf: page.csrf }).post('options', change)).status,
    403,
    'CSRF token of another session',
  )
  t.equal((await api(url, { session: page.session }).post('options', change)).status, 403, 'missing CSRF')
  t.equal(
    (await api(url, { session: page.session, csrf: `x${page.csrf}` }).post('options', change)).status,
    403,
    'wrong CSRF',
  )
  // Expired: sign with the same secret but a clock an hour and a bit ahead of the token's birth.
  const old = createSessionSigner('test-session-secret-0123456789abcdef', 60_000, () => Date.now() - 120_000)
  const expired = old.sign({ m: portal.memberId, u: 1, a: true, n: 'Admin' })
  t.equal(
    (await api(url, { session: expired, csrf: old.csrfFor(expired, portal.memberId) }).post('options', change)).status,
    401,
    'expired',
  )
  t.same(await app.settings.find(portal.memberId), before, 'nothing changed')
  t.equal((await api(url, page).post('options', change)).status, 200, 'the real session works')
})

t.test(
  'administrator actions: options, mapping with validation, preview, secret, test lead, log, resend, stats',
  async (t) => {
    const { emu, app, url, portal } = await setup(t)
    portal.addUserField({
      FIELD_NAME: 'UF_CRM_PRODUCT',
      USER_TYPE_ID: 'enumeration',
      LIST: [{ VALUE: 'Phone' }, { VALUE: 'Laptop' }],
      EDIT_FORM_LABEL: 'Product',
    })
    const page = await openTab(url, portal)
    const a = api(url, page)

    const opt = await a.post('options', {
      dedup_policy: 'off',
      rate_per_s: 5,
      default_country: 'vn',
      verify_mode: 'log_only',
    })
    t.equal(opt.status, 200)
    t.match(await opt.json(), { options: { rate_per_s: 5, default_country: 'VN' } })
    t.equal(app.portalRates.get(portal.memberId), 5)
    const badOpt = await a.post('options', {
      dedup_policy: 'sometimes',
      rate_per_s: 3,
      default_country: 'XX',
      verify_mode: 'log_only',
    })
    t.equal(badOpt.status, 400)
    t.match((await badOpt.json()).message, /dedup_policy/)

    const fields = await (await a.get('fields')).json()
    const product = fields.fields.find((f: { code: string }) => f.code === 'UF_CRM_PRODUCT')
    t.match(product, { title: 'Product', type: 'enumeration' })
    t.ok(fields.users.some((u: { id: number }) => u.id === 1))
    t.ok(fields.sources.some((s: { id: string }) => s.id === 'ADVERTISING'))

    const bad = await a.post('mapping', { rules: [{ source: 'Which product?', target: 'UF_CRM_NOPE' }], constants: {} })
    t.equal(bad.status, 400)
    const badBody = await bad.json()
    t.equal(badBody.error, 'APP_ERR_MAPPING_INVALID')
    t.match(badBody.errors.join(' '), /UF_CRM_NOPE/)
    const laptopId = product.items.find((i: { value: string }) => i.value === 'Laptop').id
    const mapping = {
      rules: [{ source: 'Which product?', target: 'UF_CRM_PRODUCT', enumMap: { 'A laptop': laptopId } }],
      constants: { ASSIGNED_BY_ID: 1 },
    }
    const good = await a.post('mapping', mapping)
    t.equal(good.status, 200)

    const conf = (await app.settings.find(portal.memberId))!
    await postWebhook(
      url,
      conf.webhook_key,
      notificationBody([sampleLead({ extra: { 'Which product?': 'A laptop' } })]),
      { secret: conf.signing_secret },
    )
    await waitFor('delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 1)
    const preview = await (await a.post('preview', { mapping })).json()
    t.equal(preview.fields.UF_CRM_PRODUCT, laptopId)
    t.equal(preview.fields.ASSIGNED_BY_ID, 1)
    const b24Lead = [...portal.leads.values()][0]!
    t.equal(String(b24Lead.UF_CRM_PRODUCT), String(laptopId), 'custom question reached the enumeration field')

    const state = await (await a.get('state')).json()
    t.ok(state.questions.includes('Which product?'), 'custom question listed for mapping')
    t.notOk(JSON.stringify(state).includes(conf.signing_secret), 'secret masked in state')
    t.equal((await (await a.post('secret/reveal')).json()).secret, conf.signing_secret)
    const rotated = await (await a.post('secret/rotate')).json()
    t.not(rotated.secret, conf.signing_secret)
    t.equal((await app.settings.find(portal.memberId))!.previous_secret, conf.signing_secret)

    const test = await (await a.post('test-lead')).json()
    t.ok(test.leadId)
    await waitFor(
      'test lead delivered',
      async () => (await app.leads.find(portal.memberId, test.leadId))?.status === 'delivered',
    )
    const log = await (await a.get('leads?limit=10')).json()
    t.equal(log.leads.length, 2)
    t.match(log.leads[0], { id: test.leadId, status: 'delivered', isTest: true, name: 'Test Lead' })
    t.match(log.leads[0].b24LeadUrl, /\/crm\/lead\/details\/\d+\//)
    t.ok(log.leads[0].deliveryMs >= 0)

    // a failed lead, re-sent from the log
    emu.faults.failNext(1, 500, { method: 'batch' })
    await app.db.updateTable('leads').set({ status: 'failed', last_error: 'x' }).where('id', '=', test.leadId).execute()
    const filtered = await (await a.get('leads?status=failed')).json()
    t.equal(filtered.leads.length, 1)
    t.match(await (await a.post('leads/resend', { ids: [test.leadId] })).json(), { requeued: 1 })
    t.match(await (await a.post('leads/resend', { ids: ['x'] })).json(), { error: 'APP_ERR_BAD_REQUEST' })

    const stats = await (await a.get('stats')).json()
    t.equal(stats.days.length, 7)
    t.ok(stats.today.received >= 2)
    t.ok(stats.week.delivered >= 1)
  },
)

t.test('when Bitrix24 fails, the settings API says so with a 502 and the reason', async (t) => {
  const { emu, url, portal } = await setup(t)
  const page = await openTab(url, portal)
  emu.faults.failNext(1, 500, { method: 'batch' })
  const res = await api(url, page).get('fields')
  t.equal(res.status, 502)
  // An upstream entry is exposed from 500 up: the tab shows Bitrix24's own reason after the phrase.
  const body = await res.json()
  t.equal(body.error, 'APP_ERR_UPSTREAM')
  t.ok(
    body.message.startsWith(`${Errors.upstream().phrase}: `) &&
      body.message.length > Errors.upstream().phrase.length + 2,
  )
  t.equal((await api(url, page).get('fields')).status, 200, 'works again once Bitrix24 does')
})

t.test(
  'an administrator opening the app re-authorises a portal whose refresh was refused; its leads then go out',
  async (t) => {
    const { emu, app, url, portal } = await setup(t)
    emu.faults.expireAllTokens()
    emu.faults.refreshFails = 'invalid_grant'
    const conf = (await app.settings.find(portal.memberId))!
    await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { secret: conf.signing_secret })
    await waitFor('flagged', async () => (await app.portals.find(portal.memberId))?.state === 'needs_reauth')
    t.equal((await app.leads.counts(portal.memberId)).delivered, 0)
    emu.faults.refreshFails = false
    const page = await openTab(url, portal, 1)
    t.equal(page.status, 200)
    t.equal((await app.portals.find(portal.memberId))!.state, 'active')
    await waitFor(
      'delivered after re-authorisation',
      async () => (await app.leads.counts(portal.memberId)).delivered === 1,
    )
  },
)

t.test("an administrator's open costs the portal two requests: the user check, then one batch", async (t) => {
  const { emu, url, portal } = await setup(t)
  const before = emu.calls.length
  const page = await openTab(url, portal)
  t.equal(page.status, 200)
  const opened = emu.calls.slice(before).filter((c) => c.memberId === portal.memberId)
  const requests = opened.filter((c) => !c.inBatch).map((c) => c.method)
  t.same(requests, ['profile', 'batch'], 'profile alone (nothing is spent before the user is known), then one batch')
  t.same(
    opened
      .filter((c) => c.inBatch)
      .map((c) => c.method)
      .sort(),
    ['app.info', 'crm.settings.mode.get'],
    'the CRM mode and the app version asked together',
  )
  t.ok(
    opened.every((c) => c.status === 200),
    'each answered',
  )
  // A read-only user's open asks nothing but who they are.
  const mark = emu.calls.length
  t.equal((await openTab(url, portal, 2)).status, 200)
  t.same(
    emu.calls
      .slice(mark)
      .filter((c) => c.memberId === portal.memberId && !c.inBatch)
      .map((c) => c.method),
    ['profile'],
  )
})
