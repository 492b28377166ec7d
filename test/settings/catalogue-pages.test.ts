/**
 * The install page, the TikTok callback page and the overview's problem lines speak the settings
 * catalogue (src/settings/i18n/), not words of their own: each is rendered through the real routes
 * in the portal's language and compared with the catalogue's entries.
 */
import t from 'tap'
import { fmt, type Lang, STRINGS } from '../../src/settings/i18n.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import type { Portal } from '../emulator/index.js'
import { api, installedPortal, startApp, startEmulator, startTikTok, tiktokConfig, waitFor } from '../helpers.js'

const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')

/** The text of the first element with this tag or id (the pages are small and server-rendered). */
function textOf(html: string, pattern: RegExp): string | undefined {
  const m = pattern.exec(html)
  return m?.[1] === undefined ? undefined : decode(m[1].trim())
}
const byId = (html: string, id: string) => textOf(html, new RegExp(`id="${id}"[^>]*>([^<]*)<`))
const byTag = (html: string, tag: string) => textOf(html, new RegExp(`<${tag}[^>]*>([^<]*)</${tag}>`))
const htmlLang = (html: string) => /<html lang="([^"]*)"/.exec(html)?.[1]

/** Open the tab as Bitrix24 does, in the given frame LANG (the shared helper always says en). */
async function openTabIn(url: string, portal: Portal, lang: string): Promise<{ session: string; csrf: string }> {
  const tokens = portal.issueToken(1)
  const res = await fetch(
    `${url}/bitrix24/placement?DOMAIN=${encodeURIComponent(portal.domain)}&PROTOCOL=0&LANG=${lang}&APP_SID=x`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        AUTH_ID: tokens.access_token,
        AUTH_EXPIRES: '3600',
        REFRESH_ID: tokens.refresh_token,
        member_id: portal.memberId,
        PLACEMENT: 'CRM_LEAD_LIST_MENU',
        PLACEMENT_OPTIONS: '{}',
      }),
    },
  )
  const html = await res.text()
  if (res.status !== 200) throw new Error(`the tab did not open: ${res.status}`)
  return {
    session: /"session":"([^"]+)"/.exec(html)?.[1] ?? '',
    csrf: /"csrf":"([^"]+)"/.exec(html)?.[1] ?? '',
  }
}

t.test('the install page speaks the portal language in the catalogue words', async (t) => {
  const emu = await startEmulator(t)
  const { url } = await startApp(t, { emu })
  const cases: Array<[string, Lang, string]> = [
    ['ru', 'ru', 'ru'],
    ['kz', 'ru', 'ru'],
    ['vn', 'vn', 'vi'],
    ['vi', 'vn', 'vi'],
    ['de', 'en', 'en'],
  ]
  for (const [portalLang, lang, html] of cases) {
    const portal = emu.createPortal({ lang: portalLang })
    const reply = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
    t.equal(reply.status, 200, `LANG=${portalLang}: installed`)
    const s = STRINGS[lang]
    t.equal(htmlLang(reply.body), html, `LANG=${portalLang}: html lang="${html}"`)
    t.equal(byTag(reply.body, 'title'), s.app_title, `LANG=${portalLang}: title`)
    t.equal(byTag(reply.body, 'h1'), s.install_done, `LANG=${portalLang}: heading`)
    t.equal(byId(reply.body, 'install-state'), s.install_bound, `LANG=${portalLang}: bindings registered`)
    for (const other of ['en', 'ru', 'vn'] as const) {
      if (other !== lang)
        t.notOk(reply.body.includes(STRINGS[other].install_done), `LANG=${portalLang}: no ${other} words`)
    }
  }
})

t.test('a refused PUBLIC_URL is explained in Vietnamese on a vn portal', async (t) => {
  const emu = await startEmulator(t)
  const { url } = await startApp(t, { emu, config: { PUBLIC_URL: 'http://localhost:3000' } })
  const portal = emu.createPortal({ lang: 'vn' })
  const reply = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
  t.equal(reply.status, 200)
  t.equal(byId(reply.body, 'install-state'), STRINGS.vn.install_failed)
  t.equal(
    byId(reply.body, 'public-url-problem'),
    fmt(STRINGS.vn.install_wrong_url, { url: 'http://localhost:3000' }),
    'the address Bitrix24 refused, in the catalogue sentence',
  )
  t.notOk(reply.body.includes(STRINGS.en.install_failed), 'no English left')
})

t.test('the TikTok callback page speaks Vietnamese', async (t) => {
  t.test('no TikTok app on this server', async (t) => {
    const { url } = await startApp(t, { emu: null })
    const res = await fetch(`${url}/tiktok/oauth/callback?lang=vn&state=x&auth_code=y`)
    const html = await res.text()
    t.equal(res.status, 400)
    t.equal(htmlLang(html), 'vi')
    t.equal(byTag(html, 'title'), STRINGS.vn.ttcb_title)
    t.equal(byId(html, 'message'), STRINGS.vn.ttcb_not_configured)
    t.ok(html.includes(`<p>${STRINGS.vn.ttcb_close}</p>`), 'the closing line')
  })

  t.test('a forged state', async (t) => {
    const tt = await startTikTok(t)
    const { url } = await startApp(t, { emu: null, config: tiktokConfig(tt), tiktok: { schedule: false } })
    const res = await fetch(`${url}/tiktok/oauth/callback?lang=vi&state=forged&auth_code=y`)
    const html = await res.text()
    t.equal(res.status, 400)
    t.equal(htmlLang(html), 'vi')
    t.equal(byId(html, 'message'), STRINGS.vn.ttcb_forged_state)
    t.notOk(html.includes(STRINGS.en.ttcb_forged_state), 'no English left')
  })
})

t.test('problem lines in GET /api/settings/state are in Vietnamese on a vn tab', async (t) => {
  const emu = await startEmulator(t)
  const tt = await startTikTok(t)
  const { app, url } = await startApp(t, { emu, config: tiktokConfig(tt), tiktok: { schedule: false } })
  const portal = await installedPortal(emu, url, { lang: 'vn' })
  const m = portal.memberId
  const conf = (await app.settings.find(m))!

  // A lead Bitrix24 refuses (a field error fails the lead at once).
  emu.faults.failCommands(1, 'ERROR_ARGUMENT', { method: 'crm.lead.add', memberId: m })
  await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { secret: conf.signing_secret })
  await waitFor('the lead refused', async () => (await app.leads.counts(m)).failed === 1)

  // A TikTok ad account whose authorisation was revoked (stored as the health check leaves it).
  const ctx = app.tiktok.ctx!
  const now = Date.now()
  await ctx.repo.insertConnection({
    advertiser_id: '7001',
    member_id: m,
    advertiser_name: 'Spa Bình Minh',
    token_sealed: ctx.box.seal('tt-token-catalogue'),
    scope_json: '[]',
    callback_url: `${url}/tiktok/webhook/${conf.webhook_key}`,
    connected_by_id: 1,
    connected_by_name: 'Admin',
    connected_at: now,
    updated_at: now,
    status: 'token_invalid',
  })

  const page = await openTabIn(url, portal, 'vn')
  // Bitrix24 stops accepting the app's access after the tab opened (the tab's own sign-in would
  // re-authorise a portal that is already marked).
  await app.portals.setState(m, 'needs_reauth', 'refresh refused')
  const res = await api(url, page).get('state')
  t.equal(res.status, 200)
  const state = (await res.json()) as { problems: string[] }
  const vn = STRINGS.vn
  t.ok(state.problems.includes(fmt(vn.problem_failed, { n: 1 })), `the failed lead: ${state.problems.join(' | ')}`)
  t.ok(state.problems.includes(fmt(vn.problem_needs_reauth, { why: 'refresh refused' })), 'the lost access')
  t.ok(
    state.problems.includes(fmt(vn.tt_status_token_invalid, { name: 'Spa Bình Minh' })),
    'the revoked TikTok account',
  )
  t.match(state.problems.join(' '), /khách hàng tiềm năng không gửi được/, 'in Bitrix24 Vietnamese words')
  for (const line of state.problems) t.notMatch(line, /lead\(s\)|no longer accepts|Leads are/, `not English: ${line}`)
})
