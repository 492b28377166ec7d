import { spawn, type ChildProcess } from 'node:child_process'
import SQLite from 'better-sqlite3'
import t from 'tap'
import { secretBoxFor } from '../../src/crypto/secret-box.js'
import { CLIENT_ID, CLIENT_SECRET, freePort, installedPortal, startEmulator, tempDbPath, waitFor } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'

/*
 * Kill -9 while a backlog is in flight. The emulator answers slowly (it creates the leads, then
 * waits before replying), so the kill lands between "Bitrix24 created them" and "the app recorded
 * it". After the restart the app must look those leads up by ORIGIN_ID instead of sending them again.
 */

function startServer(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
}

t.test('SIGKILL mid-backlog, restart: every acknowledged lead is in Bitrix24 exactly once', async (t) => {
  const emu = await startEmulator(t)
  const port = await freePort()
  const dbPath = tempDbPath()
  const env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_PATH: dbPath,
    LOG_LEVEL: 'warn',
    B24_CLIENT_ID: CLIENT_ID,
    B24_CLIENT_SECRET: CLIENT_SECRET,
    B24_OAUTH_URL: emu.oauthUrl,
    DELIVERY_RECONCILE_AFTER_MS: '500',
    // A lead left sending is looked up only once its batch cannot be running any more.
    B24_REQUEST_TIMEOUT_MS: '2000',
    B24_MAX_REQUEST_S: '1',
    SESSION_SECRET: 'crash-test-session-secret-0123456789',
  }
  const url = `http://127.0.0.1:${port}`
  let child = startServer(env)
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  await waitFor(
    'app ready',
    () =>
      fetch(`${url}/ready`).then(
        (r) => r.ok,
        () => false,
      ),
    30_000,
    100,
  )

  const portal = await installedPortal(emu, url)
  const db = new SQLite(dbPath, { readonly: true })
  t.teardown(() => db.close())
  const row = db
    .prepare('select webhook_key, signing_secret from portal_settings where member_id = ?')
    .get(portal.memberId) as { webhook_key: string; signing_secret: string }
  // The secret is stored sealed; the app's key file sits beside its database.
  const conf = { ...row, signing_secret: secretBoxFor(undefined, dbPath).open(row.signing_secret) }

  emu.faults.latencyMs = 400
  const ids: string[] = []
  for (let i = 0; i < 6; i++) {
    const leads = Array.from({ length: 50 }, () => sampleLead())
    ids.push(...leads.map((l) => l.id))
    const r = await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
    t.equal(r.status, 200, 'acknowledged')
  }
  await waitFor('some leads created in Bitrix24', () => portal.leads.size >= 50, 20_000, 5)
  child.kill('SIGKILL')
  await new Promise((r) => child.once('exit', r))
  const atKill = portal.leads.size
  const sendingIds = (
    db.prepare("select tiktok_lead_id from leads where status = 'sending'").all() as Array<{ tiktok_lead_id: string }>
  ).map((r) => r.tiktok_lead_id)
  const createdAtKill = new Set([...portal.leads.values()].map((l) => String(l.ORIGIN_ID)))
  const createdButUnrecorded = sendingIds.filter((id) => createdAtKill.has(id)).length
  t.ok(atKill < 300, `killed mid-backlog (${atKill} of 300 created)`)
  // The point of the test: the kill left leads `sending` that Bitrix24 had already created, so the
  // restart has to find them by ORIGIN_ID (re-sending them would double them).
  t.ok(sendingIds.length > 0, `leads marked sending at the kill (${sendingIds.length})`)
  t.ok(createdButUnrecorded > 0, `some of them already created in Bitrix24 (${createdButUnrecorded})`)

  emu.faults.latencyMs = 0
  child = startServer(env)
  await waitFor(
    'all delivered after restart',
    () => (db.prepare("select count(*) n from leads where status = 'delivered'").get() as { n: number }).n === 300,
    40_000,
    100,
  )
  const origins = [...portal.leads.values()].map((l) => String(l.ORIGIN_ID))
  t.equal(origins.length, 300, 'every acknowledged lead is in Bitrix24')
  t.equal(new Set(origins).size, 300, 'none twice')
  t.same(new Set(origins), new Set(ids))
})
