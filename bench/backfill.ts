/**
 * The bench's `backfill` phase: the app (a child process, like every other phase) connected to the
 * TikTok API for Business emulator for one portal; the emulator's form holds BACKFILL_LEADS leads (or --backfill-leads=N) made over
 * the last three days, before any subscription existed (so none was pushed). The admin's "import the
 * last 30 days" (POST /api/settings/tiktok/backfill through the settings API, with a session) then
 * runs TikTok's lead download; measured: leads/s from the request until all those rows are in the
 * app's SQLite (rows counted), and the app's RSS just before and at its peak during the import.
 * Run once with the export as CSV and once with the emulator's zip threshold lowered so the same
 * export comes zipped. Everything on 127.0.0.1; every wait is bounded.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SQLite from 'better-sqlite3'
import type { Emulator } from '../test/emulator/index.js'
import { api, freePort, openTab } from '../test/helpers.js'
import { buildTikTokEmulator, type TikTokEmulator } from '../test/tiktok-emulator/index.js'

export const BACKFILL_LEADS = 10_000
const TT_APP_ID = '7400000000000000099'
const TT_APP_SECRET = 'bench-tiktok-secret-0123456789abcdef'
const IMPORT_TIMEOUT_MS = 180_000
const SAMPLE_MS = 20
const FIELDS = [
  { name: 'name' },
  { name: 'phone_number', type: 'PHONE_NUMBER' as const },
  { name: 'email', type: 'EMAIL' as const },
  { name: 'Which service?', type: 'SINGLE_CHOICE' as const, options: ['Installation', 'Repair', 'Maintenance'] },
]

/** The part of bench/run.ts's AppProcess this phase uses. */
export interface ChildApp {
  readonly url: string
  readonly child: { pid?: number | undefined } | null
  start(): Promise<void>
  stop(): Promise<void>
}

export interface BackfillRun {
  leadsPerS: number
  /** From the request until the first imported row is stored (task, poll, download start). */
  firstRowMs: number
  /** How long the POST took to answer (it waits for the whole import). */
  requestMs: number
  rssMbBefore: number
  rssMbPeak: number
  /** the export's file type as the emulator served it */
  fileType: 'csv' | 'zip'
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
  } catch {
    return 0
  }
}

/** The file type TikTok serves this form's export as: asked with a token of our own, after the import. */
async function exportFileType(
  tt: TikTokEmulator,
  redirectUri: string,
  advertiserId: string,
  pageId: string,
): Promise<'csv' | 'zip'> {
  const { authCode } = await tt.approve({ state: 'bench', redirectUri, advertiserIds: [advertiserId] })
  const call = async (path: string, body: Record<string, unknown>, token?: string) => {
    const res = await fetch(`${tt.url}/open_api/v1.3/${path}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { 'access-token': token } : {}) },
      body: JSON.stringify(body),
    })
    const json = (await res.json()) as { code: number; message: string; data: Record<string, unknown> }
    if (json.code !== 0) throw new Error(`${path}: ${json.code} ${json.message}`)
    return json.data
  }
  const token = String(
    (await call('oauth2/access_token', { app_id: TT_APP_ID, secret: TT_APP_SECRET, auth_code: authCode })).access_token,
  )
  const taskId = String((await call('page/lead/task', { advertiser_id: advertiserId, page_id: pageId }, token)).task_id)
  const task = await call('page/lead/task', { advertiser_id: advertiserId, task_id: taskId }, token)
  return task.file_type === 'zip' ? 'zip' : 'csv'
}

/** One import: its own TikTok emulator, app process, database and portal. */
export async function runBackfill(opts: {
  emu: Emulator
  /** A child app with these extra environment variables (PORT, DATABASE_PATH, TIKTOK_*). */
  makeApp: (env: Record<string, string>, url: string) => ChildApp
  zip: boolean
  /** default BACKFILL_LEADS */
  leads?: number
  log: (msg: string) => void
}): Promise<BackfillRun> {
  const { emu, log } = opts
  const leads = opts.leads ?? BACKFILL_LEADS
  // Task delay 0: the app's first poll finds the export ready, so the figure is the app's import
  // (download, parse, store), not TikTok's preparation time or the app's 2 s poll interval.
  const tt: TikTokEmulator = await buildTikTokEmulator({
    appId: TT_APP_ID,
    appSecret: TT_APP_SECRET,
    taskDelayMs: 0,
    // csv: never zipped, whatever --backfill-leads says (TikTok zips above 10 MiB); zip: always.
    zipThresholdBytes: opts.zip ? 64 * 1024 : 1024 ** 3,
  })
  await tt.listen(0)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const dbPath = join(mkdtempSync(join(tmpdir(), 'b24tl-bench-backfill-')), 'app.sqlite')
  const app = opts.makeApp(
    {
      PORT: String(port),
      DATABASE_PATH: dbPath,
      TIKTOK_APP_ID: TT_APP_ID,
      TIKTOK_APP_SECRET: TT_APP_SECRET,
      TIKTOK_API_URL: tt.url,
      TIKTOK_AUTH_URL: tt.authUrl,
    },
    url,
  )
  let db: SQLite.Database | null = null
  try {
    await app.start()
    tt.addRedirectUri(`${url}/tiktok/oauth/callback`)
    const portal = emu.createPortal()
    const installed = await emu.installApp(portal, { installUrl: `${url}/bitrix24/install` })
    if (installed.status !== 200) throw new Error(`install failed ${installed.status} ${installed.body}`)
    const tab = api(url, await openTab(url, portal))

    // The form's history: `leads` leads over the last three days, oldest first, none pushed.
    const adv = tt.addAdvertiser({ name: 'Bench Ads' })
    const { pageId } = tt.addForm(adv.id, { title: 'Bench form', fields: FIELDS })
    const now = Math.floor(Date.now() / 1000)
    const span = 3 * 86_400
    for (let i = 0; i < leads; i++) {
      tt.submitLead(
        pageId,
        {
          name: `Lead ${i}`,
          phone_number: `+8490${String(i).padStart(7, '0')}`,
          email: `lead${i}@example.com`,
          'Which service?': FIELDS[3]!.options![i % 3]!,
        },
        { createTime: now - span + Math.floor((i * span) / leads) },
      )
    }

    // Connect TikTok as an admin does, with no import.
    const started = await tab.post('tiktok/connect')
    if (started.status !== 200) throw new Error(`connect: ${started.status} ${await started.text()}`)
    const authUrl = new URL(((await started.json()) as { authUrl: string }).authUrl)
    const { location } = await tt.approve({
      state: authUrl.searchParams.get('state')!,
      redirectUri: authUrl.searchParams.get('redirect_uri')!,
    })
    const cb = await fetch(location)
    if (cb.status !== 200) throw new Error(`callback: ${cb.status}`)
    const grant = ((await (await tab.get('tiktok')).json()) as { grant: { id: string } | null }).grant
    if (!grant) throw new Error('no grant after the callback')
    const granted = await tab.post('tiktok/grant', { grantId: grant.id, advertiserIds: [adv.id], importDays: 0 })
    if (granted.status !== 200) throw new Error(`grant: ${granted.status} ${await granted.text()}`)
    if (tt.deliveries.length > 0) throw new Error('the emulator pushed leads: the import would not be measured')

    db = new SQLite(dbPath, { readonly: true, fileMustExist: true })
    const count = db.prepare('select count(*) n from leads where member_id = ?').pluck()
    const stored = () => count.get(portal.memberId) as number
    if (stored() !== 0) throw new Error('leads stored before the import')

    const pid = app.child?.pid
    if (!pid) throw new Error('no app process')
    await sleep(1000)
    let rssBefore = 0
    for (let i = 0; i < 5; i++) {
      rssBefore = Math.max(rssBefore, rssMb(pid))
      await sleep(50)
    }
    let peak = rssBefore
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, rssMb(pid))
        await sleep(SAMPLE_MS)
      }
    })()

    log(`  import of ${leads.toLocaleString()} leads (${opts.zip ? 'zip' : 'csv'})`)
    const t0 = Date.now()
    // Rows are counted while the request is open: the route answers only once the import is over.
    let answeredAt = 0
    const request = tab.post('tiktok/backfill', { advertiserId: adv.id, pageId, days: 30 }).then(async (res) => {
      answeredAt = Date.now()
      if (res.status !== 200) throw new Error(`backfill: ${res.status} ${await res.text()}`)
    })
    let failed: unknown = null
    request.catch((err: unknown) => {
      failed = err
    })
    let firstRowAt = 0
    let n = 0
    while (n < leads) {
      if (failed) throw failed
      if (Date.now() - t0 > IMPORT_TIMEOUT_MS) throw new Error(`import timed out with ${n} of ${leads} leads stored`)
      await sleep(5)
      n = stored()
      if (n > 0 && firstRowAt === 0) firstRowAt = Date.now()
    }
    const elapsed = Date.now() - t0
    await request
    // A little longer: the last chunk's commit may come before the export stream is let go.
    await sleep(300)
    sampling = false
    await sampler

    const fileType = await exportFileType(tt, `${url}/tiktok/oauth/callback`, adv.id, pageId)
    return {
      leadsPerS: Math.round(leads / (elapsed / 1000)),
      firstRowMs: firstRowAt - t0,
      requestMs: answeredAt - t0,
      rssMbBefore: Math.round(rssBefore * 10) / 10,
      rssMbPeak: Math.round(peak * 10) / 10,
      fileType,
    }
  } finally {
    db?.close()
    await app.stop()
    await tt.close()
  }
}
