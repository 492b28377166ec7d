/**
 * The alert tests' world: the real app (its periodic alert check off, so each test runs it by hand)
 * against the Bitrix24 emulator (with or without the `im` scope) and the TikTok emulator, a portal
 * installed by user 1 (an administrator), and the tab opened by that user.
 */
import { buildApp } from '../../src/app.js'
import type { AlertsOptions } from '../../src/plugins/alerts.js'
import type { Config } from '../../src/config.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import type { Portal } from '../emulator/index.js'
import {
  api,
  installedPortal,
  openTab,
  startEmulator,
  startTikTok,
  testConfig,
  tiktokConfig,
  type Teardown,
} from '../helpers.js'
import type { World } from '../tiktok-business/flow.js'

export const WITH_IM = 'crm,placement,user_brief,im'
export const WITHOUT_IM = 'crm,placement,user_brief'

export async function alertWorld(
  t: Teardown,
  opts: { scope?: string; alerts?: AlertsOptions; config?: Partial<Config> } = {},
): Promise<World> {
  const emu = await startEmulator(t, { scope: opts.scope ?? WITH_IM })
  const tt = await startTikTok(t)
  const config = testConfig(emu, { ...tiktokConfig(tt), ...opts.config })
  const database = openDatabase(config.DATABASE_PATH)
  await migrateToLatest(database.db)
  const app = await buildApp({
    config,
    database,
    logger: false,
    delivery: { reconcileAfterMs: 300, backoff: { baseMs: 50, maxMs: 400 } },
    tiktok: { taskPollMs: 50, schedule: false },
    alerts: { schedule: false, ...opts.alerts },
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  tt.addRedirectUri(`${url}/tiktok/oauth/callback`)
  const portal = await installedPortal(emu, url)
  const page = await openTab(url, portal)
  const adv = tt.addAdvertiser({ name: 'Acme Ads' })
  const adv2 = tt.addAdvertiser({ name: 'Second Account' })
  const form = tt.addForm(adv.id, { title: 'Spring promo', fields: [{ name: 'name' }, { name: 'phone_number' }] })
  const form2 = tt.addForm(adv.id, { title: 'Autumn promo', fields: [{ name: 'name' }] })
  return { emu, tt, started: { app, url, database, config }, portal, tab: api(url, page), adv, adv2, form, form2 }
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
