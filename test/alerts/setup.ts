/**
 * The alert tests' world: the real app (its periodic alert check and the check at once when leads
 * fail both off unless a test asks, so each test runs it by hand)
 * against the Bitrix24 emulator (with or without the `im` scope) and the TikTok emulator, a portal
 * installed by user 1 (an administrator), and the tab opened by that user.
 */
import { buildApp } from '../../src/app.js'
import type { AlertsOptions } from '../../src/plugins/alerts.js'
import type { Config } from '../../src/config.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import type { ManualClock } from '../app-clock.js'
import type { Portal } from '../emulator/index.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import {
  api,
  installedPortal,
  openTab,
  startEmulator,
  startTikTok,
  testConfig,
  tiktokConfig,
  type Teardown,
  waitFor,
} from '../helpers.js'
import type { World } from '../tiktok-business/flow.js'

export const WITH_IM = 'crm,placement,user_brief,im'
export const WITHOUT_IM = 'crm,placement,user_brief'

interface WorldOptions {
  scope?: string
  alerts?: AlertsOptions
  config?: Partial<Config>
  /** the app's clock: its timers fire only as the test advances it (the set-up ticks it along) */
  clock?: ManualClock
}

/** The app on its own database file or memory (config.DATABASE_PATH): a restart opens the same file. */
async function startAlertApp(t: Teardown, config: Config, opts: WorldOptions): Promise<World['started']> {
  const database = openDatabase(config.DATABASE_PATH)
  await migrateToLatest(database.db)
  const app = await buildApp({
    config,
    database,
    logger: false,
    delivery: { reconcileAfterMs: 300, backoff: { baseMs: 50, maxMs: 400 } },
    tiktok: { taskPollMs: 50, schedule: false },
    ...(opts.clock ? { clock: opts.clock } : {}),
    alerts: { schedule: false, onFailure: false, ...opts.alerts },
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, url, database, config }
}

export async function alertWorld(t: Teardown, opts: WorldOptions = {}): Promise<World> {
  const emu = await startEmulator(t, { scope: opts.scope ?? WITH_IM })
  const tt = await startTikTok(t)
  const config = testConfig(emu, { ...tiktokConfig(tt), ...opts.config })
  const started = await startAlertApp(t, config, opts)
  const { url } = started
  tt.addRedirectUri(`${url}/tiktok/oauth/callback`)
  const run = <T>(p: Promise<T>) => (opts.clock ? ticking(opts.clock, p) : p)
  const portal = await run(installedPortal(emu, url))
  const page = await run(openTab(url, portal))
  const adv = tt.addAdvertiser({ name: 'Acme Ads' })
  const adv2 = tt.addAdvertiser({ name: 'Second Account' })
  const form = tt.addForm(adv.id, { title: 'Spring promo', fields: [{ name: 'name' }, { name: 'phone_number' }] })
  const form2 = tt.addForm(adv.id, { title: 'Autumn promo', fields: [{ name: 'name' }] })
  return { emu, tt, started, portal, tab: api(url, page), adv, adv2, form, form2 }
}

/**
 * The app stopped and started again on the same database file (the world needs
 * config: { DATABASE_PATH: tempDbPath() }); the emulators and the portal stay.
 */
export async function restarted(t: Teardown, w: World, opts: WorldOptions = {}): Promise<World> {
  await w.started.app.close()
  const started = await startAlertApp(t, w.started.config, opts)
  return { ...w, started }
}

/** Advance a manual clock in small steps while `p` runs (the portal's queue paces requests by it). */
export async function ticking<T>(clock: ManualClock, p: Promise<T>, stepMs = 100): Promise<T> {
  let done = false
  const out = p.finally(() => {
    done = true
  })
  while (!done) {
    await clock.advance(stepMs)
    await new Promise((r) => setTimeout(r, 10))
  }
  return out
}

/** The im.notify.system.add commands the portal ran (alone or in a batch), optionally of one alert kind. */
export function notifyCalls(w: Pick<World, 'emu' | 'portal'>, kind?: string) {
  return w.emu.calls.filter(
    (c) =>
      c.memberId === w.portal.memberId &&
      c.method === 'im.notify.system.add' &&
      (kind === undefined || String((c.params as { TAG?: unknown }).TAG ?? '').startsWith(`tiktok-leads:${kind}:`)),
  )
}

/** The portal's notifications of one alert kind for a user. */
export function alertsOf(portal: Portal, userId: number, kind: string) {
  return portal.notifications(userId).filter((n) => n.tag === `tiktok-leads:${kind}:${userId}`)
}

/** A third user who is an administrator too. */
export function addAdmin(portal: Portal, id = 3): number {
  portal.users.push({
    ID: id,
    NAME: 'Ivan',
    LAST_NAME: 'Second',
    EMAIL: 'ivan@example.test',
    ADMIN: true,
    ACTIVE: true,
  })
  return id
}

/** `n` leads that Bitrix24 refuses (a command-level ACCESS_DENIED): they end as failed. */
export async function failLeads(w: World, n: number): Promise<void> {
  const { app, url } = w.started
  const conf = (await app.settings.find(w.portal.memberId))!
  const before = (await app.leads.counts(w.portal.memberId)).failed
  w.emu.faults.failCommands(n, 'ACCESS_DENIED', { method: 'crm.lead.add' })
  const leads = Array.from({ length: n }, () => sampleLead())
  const res = await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
  if (res.status !== 200) throw new Error(`webhook ${res.status}`)
  await waitFor('failed', async () => (await app.leads.counts(w.portal.memberId)).failed === before + n)
}
