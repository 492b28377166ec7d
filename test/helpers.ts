import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppDeps } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import { openDatabase, type OpenedDatabase } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrate.js'
import { loggerOptions } from '../src/logger.js'
import type { Lang, Strings } from '../src/settings/i18n.js'
import type { StateView, StatsView } from '../src/settings/schemas.js'
import { buildEmulator, type Emulator, type EmulatorOptions, type Portal } from './emulator/index.js'
import { buildTikTokEmulator, type TikTokEmulator, type TikTokEmulatorOptions } from './tiktok-emulator/index.js'

export interface Teardown {
  teardown(fn: () => unknown): void
}

export const CLIENT_ID = 'local.test.app'
export const CLIENT_SECRET = 'test-secret-0123456789'
/** /metrics needs this bearer token in tests (testConfig sets it). */
export const METRICS_TOKEN = 'test-metrics-token-0123456789'
export const metricsAuth = { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }

export async function startEmulator(t: Teardown, opts: EmulatorOptions = {}): Promise<Emulator> {
  const emu = await buildEmulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...opts })
  await emu.listen(0)
  t.teardown(() => emu.close())
  return emu
}

export const TIKTOK_APP_ID = 'tt-app-test'
export const TIKTOK_APP_SECRET = 'tt-app-secret-0123456789abcdef'

/** The TikTok API for Business emulator, with push retries and export tasks scaled down for tests. */
export async function startTikTok(t: Teardown, opts: Partial<TikTokEmulatorOptions> = {}): Promise<TikTokEmulator> {
  const tt = await buildTikTokEmulator({
    appId: TIKTOK_APP_ID,
    appSecret: TIKTOK_APP_SECRET,
    retry: { firstDelayMs: 50, factor: 2, windowMs: 1000 },
    taskDelayMs: 100,
    ...opts,
  })
  await tt.listen(0)
  t.teardown(() => tt.close())
  return tt
}

/** App config pointing the TikTok connection at the emulator. */
export function tiktokConfig(tt: TikTokEmulator): Partial<Config> {
  return {
    TIKTOK_APP_ID,
    TIKTOK_APP_SECRET,
    TIKTOK_API_URL: tt.url,
    TIKTOK_AUTH_URL: tt.authUrl,
    TIKTOK_REQUEST_TIMEOUT_MS: 3000,
  }
}

export function tempDbPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'b24tl-')), 'app.sqlite')
}

export function testConfig(emu: Emulator | null, overrides: Partial<Config> = {}): Config {
  return loadConfig(
    {},
    {
      DATABASE_PATH: ':memory:',
      LOG_LEVEL: 'silent',
      B24_CLIENT_ID: CLIENT_ID,
      B24_CLIENT_SECRET: CLIENT_SECRET,
      ...(emu ? { B24_OAUTH_URL: emu.oauthUrl } : {}),
      B24_REQUEST_TIMEOUT_MS: 2000,
      B24_MAX_REQUEST_S: 1,
      SESSION_SECRET: 'test-session-secret-0123456789abcdef',
      METRICS_TOKEN,
      ...overrides,
    },
  )
}

/** Captures every log line the app writes, to check that no secret reaches a log. */
export function logCapture(): { lines: string[]; stream: Writable } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk))
      cb()
    },
  })
  return { lines, stream }
}

export interface StartedApp {
  app: FastifyInstance
  url: string
  database: OpenedDatabase
  config: Config
}

/** The real app on a real port (the emulator must be able to POST to it). */
export async function startApp(
  t: Teardown,
  opts: {
    emu?: Emulator | null
    config?: Partial<Config>
    logs?: Writable
    delivery?: AppDeps['delivery']
    autoStartDelivery?: boolean
    tiktok?: AppDeps['tiktok']
    clock?: AppDeps['clock']
    port?: number
  } = {},
): Promise<StartedApp> {
  const config = testConfig(opts.emu ?? null, opts.config)
  const database = openDatabase(config.DATABASE_PATH)
  await migrateToLatest(database.db)
  const app = await buildApp({
    config,
    database,
    ...(opts.clock ? { clock: opts.clock } : {}),
    logger: opts.logs ? { ...loggerOptions('debug'), stream: opts.logs } : false,
    delivery: { reconcileAfterMs: 300, backoff: { baseMs: 50, maxMs: 400 }, ...opts.delivery },
    ...(opts.autoStartDelivery !== undefined ? { autoStartDelivery: opts.autoStartDelivery } : {}),
    tiktok: { taskPollMs: 50, ...opts.tiktok },
  })
  const url = await app.listen({ port: opts.port ?? 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, url, database, config }
}

/** A portal with the app installed the way Bitrix24 does it (install POST, then ONAPPINSTALL). */
export async function installedPortal(
  emu: Emulator,
  appUrl: string,
  portal?: Parameters<Emulator['createPortal']>[0],
): Promise<Portal> {
  const p = emu.createPortal(portal)
  const reply = await emu.installApp(p, { installUrl: `${appUrl}/bitrix24/install` })
  if (reply.status !== 200) throw new Error(`install failed: ${reply.status} ${reply.body}`)
  return p
}

export async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v as NonNullable<T>
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** Form-encode with PHP-style nested keys, as Bitrix24 posts events. */
export function phpForm(obj: Record<string, unknown>): string {
  const out = new URLSearchParams()
  const walk = (prefix: string, v: unknown) => {
    if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}[${k}]` : k, x)
    else out.append(prefix, String(v))
  }
  walk('', obj)
  return out.toString()
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<{ kind?: string; code?: string; message?: string }> {
  try {
    await p
  } catch (err) {
    return err as { kind?: string; code?: string; message?: string }
  }
  throw new Error('expected the promise to reject')
}

/** A port nobody listens on right now (for child processes that must be told their port). */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

/** What the settings page hands its tab (views/settings.eta renders it as JSON in #boot). */
export interface PageBoot {
  lang: Lang
  strings: Strings
  session: string
  csrf: string
  state: StateView
  stats: StatsView
  leadUrlTemplate: string
}

/** The page's boot state, or null when the page carries none (an error page). */
export function bootOf(html: string): PageBoot | null {
  const json = /<script type="application\/json" id="boot">([\s\S]*?)<\/script>/.exec(html)?.[1]
  return json ? (JSON.parse(json) as PageBoot) : null
}

export interface Opened {
  status: number
  html: string
  headers: Headers
  /** the page's boot state (null on an error page) */
  boot: PageBoot | null
  session: string
  csrf: string
}

/** Open the settings tab as Bitrix24 does: a form POST with the user's AUTH_ID. */
export async function openTab(
  url: string,
  portal: Portal,
  userId = 1,
  extra: Record<string, string> = {},
): Promise<Opened> {
  const tokens = portal.issueToken(userId)
  const res = await fetch(
    `${url}/bitrix24/placement?DOMAIN=${encodeURIComponent(portal.domain)}&PROTOCOL=0&LANG=en&APP_SID=x`,
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
        ...extra,
      }),
    },
  )
  const html = await res.text()
  const boot = bootOf(html)
  return { status: res.status, html, headers: res.headers, boot, session: boot?.session ?? '', csrf: boot?.csrf ?? '' }
}

export function api(url: string, s: { session?: string; csrf?: string }) {
  const headers = (json: boolean): Record<string, string> => ({
    ...(s.session ? { 'x-session': s.session } : {}),
    ...(s.csrf ? { 'x-csrf-token': s.csrf } : {}),
    ...(json ? { 'content-type': 'application/json' } : {}),
  })
  return {
    get: (path: string) => fetch(`${url}/api/settings/${path}`, { headers: headers(false) }),
    post: (path: string, body: unknown = {}) =>
      fetch(`${url}/api/settings/${path}`, { method: 'POST', headers: headers(true), body: JSON.stringify(body) }),
  }
}
