/**
 * Shared steps of the TikTok connection tests: an installed portal, the app configured for the
 * TikTok emulator, and "Connect TikTok" pressed and approved the way an admin does it.
 */
import type { Emulator, Portal } from '../emulator/index.js'
import {
  api,
  installedPortal,
  openTab,
  startApp,
  startEmulator,
  startTikTok,
  tiktokConfig,
  type StartedApp,
  type Teardown,
} from '../helpers.js'
import type { TikTokEmulator } from '../tiktok-emulator/index.js'

export const FIELDS = [{ name: 'name' }, { name: 'email' }, { name: 'phone_number' }, { name: 'Which service?' }]

export interface World {
  emu: Emulator
  tt: TikTokEmulator
  started: StartedApp
  portal: Portal
  tab: ReturnType<typeof api>
  adv: { id: string }
  adv2: { id: string }
  form: { pageId: string }
  form2: { pageId: string }
}

export async function world(
  t: Teardown,
  opts: {
    config?: NonNullable<Parameters<typeof startApp>[1]>['config']
    port?: number
    database?: string
    schedule?: boolean
    logs?: import('node:stream').Writable
  } = {},
): Promise<World> {
  const emu = await startEmulator(t)
  const tt = await startTikTok(t)
  const started = await startApp(t, {
    emu,
    config: { ...tiktokConfig(tt), ...(opts.database ? { DATABASE_PATH: opts.database } : {}), ...opts.config },
    tiktok: { schedule: opts.schedule ?? false },
    ...(opts.port ? { port: opts.port } : {}),
    ...(opts.logs ? { logs: opts.logs } : {}),
  })
  tt.addRedirectUri(`${started.url}/tiktok/oauth/callback`)
  const portal = await installedPortal(emu, started.url)
  const page = await openTab(started.url, portal)
  const adv = tt.addAdvertiser({ name: 'Acme Ads' })
  const adv2 = tt.addAdvertiser({ name: 'Second Account' })
  const form = tt.addForm(adv.id, { title: 'Spring promo', fields: FIELDS })
  const form2 = tt.addForm(adv.id, { title: 'Autumn promo', fields: FIELDS })
  return { emu, tt, started, portal, tab: api(started.url, page), adv, adv2, form, form2 }
}

/** Press "Connect TikTok", approve on TikTok, follow the redirect back; answers the callback page. */
export async function approve(w: Pick<World, 'tt' | 'tab'>, advertiserIds?: string[]): Promise<Response> {
  const res = await w.tab.post('tiktok/connect')
  if (res.status !== 200) throw new Error(`connect: ${res.status} ${await res.text()}`)
  const { authUrl } = (await res.json()) as { authUrl: string }
  const u = new URL(authUrl)
  const { location } = await w.tt.approve({
    state: u.searchParams.get('state')!,
    redirectUri: u.searchParams.get('redirect_uri')!,
    ...(advertiserIds ? { advertiserIds } : {}),
  })
  return fetch(location)
}

export interface View {
  configured: boolean
  problems: string[]
  grant: null | {
    id: string
    advertisers: Array<{
      advertiserId: string
      advertiserName: string
      connectedHere: boolean
      connectedElsewhere: string | null
    }>
  }
  connections: Array<{
    advertiserId: string
    status: string
    statusText: string
    allForms: boolean
    forms: Array<{
      pageId: string
      title: string
      selected: boolean
      fields: string[]
      newFields: string[]
      unmappedCustom: string[]
      lastBackfill: null | { added: number; error: string | null }
      testLead: null | { leadId: string }
    }>
  }>
}

export async function view(w: Pick<World, 'tab'>): Promise<View> {
  return (await (await w.tab.get('tiktok')).json()) as View
}

/** Approve and connect the given ad accounts (default: the first one), no import. */
export async function connect(w: World, advertiserIds = [w.adv.id], importDays = 0): Promise<View> {
  const cb = await approve(w)
  if (cb.status !== 200) throw new Error(`callback: ${cb.status} ${await cb.text()}`)
  const grant = (await view(w)).grant!
  const res = await w.tab.post('tiktok/grant', { grantId: grant.id, advertiserIds, importDays })
  if (res.status !== 200) throw new Error(`grant: ${res.status} ${await res.text()}`)
  return (await res.json()) as View
}

export const validSubs = (tt: TikTokEmulator) => tt.subscriptions().filter((s) => s.valid)
export const b24Leads = (portal: Portal) => [...portal.leads.values()]
