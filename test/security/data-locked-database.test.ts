/**
 * A locked database froze the whole process: with `busy_timeout = 5000` every write waited up to
 * 5 s for a lock held by another process (`BEGIN EXCLUSIVE` from an admin's sqlite3 shell, a
 * backup), and better-sqlite3 waits synchronously, on the event loop, so /health stopped
 * answering too (20 s measured; Docker's health check allows 5 s and would have killed the
 * container). Now a write gives up after a few milliseconds with SQLITE_BUSY, the webhook answers
 * 503 with Retry-After at once (TikTok retries), /health keeps answering, the delivery loop backs
 * off instead of spinning, and everything works again once the lock is released.
 */
import SQLite from 'better-sqlite3'
import t from 'tap'
import { normalizeTikTokBody } from '../../src/tiktok/adapters.js'
import { parseJsonPreservingBigInts } from '../../src/tiktok/json.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { installedPortal, logCapture, startApp, startEmulator, tempDbPath, waitFor } from '../helpers.js'

async function timed<T>(p: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now()
  const value = await p()
  return { ms: performance.now() - start, value }
}

t.test(
  'a database locked by another connection: webhooks get 503 fast, /health answers, delivery backs off',
  async (t) => {
    const emu = await startEmulator(t)
    const path = tempDbPath()
    const logs = logCapture()
    const { app, url } = await startApp(t, { emu, config: { DATABASE_PATH: path }, logs: logs.stream })
    const portal = await installedPortal(emu, url)
    const conf = (await app.settings.find(portal.memberId))!
    const ok = await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), {
      secret: conf.signing_secret,
    })
    t.equal(ok.status, 200, 'the webhook works before the lock')
    await waitFor('the first lead delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 1)
    // Let the portal's request window (2 starts per rolling second: install binds, first batch) clear,
    // so the claim below runs at once, under the lock, instead of waiting for a slot until after it.
    await new Promise((r) => setTimeout(r, 1100))

    // A lead stored behind the dispatcher's back: it is due, and the dispatcher is woken only under the lock.
    const normalized = normalizeTikTokBody(parseJsonPreservingBigInts(notificationBody([sampleLead()])))
    if (normalized.kind !== 'leads') throw new Error('fixture')
    const lead = normalized.leads[0]!
    await app.leads.insertMany(
      portal.memberId,
      [
        {
          tiktokLeadId: lead.leadId,
          format: lead.format,
          isTest: false,
          leadJson: JSON.stringify(lead),
          rawJson: '{}',
        },
      ],
      { scheme: 'test', valid: true },
    )

    // A clear token (as from before sealing) is re-sealed when read; under the lock the read must still work.
    const { access_token } = (await app.portals.find(portal.memberId))!
    await app.db.updateTable('portals').set({ access_token }).where('member_id', '=', portal.memberId).execute()

    const other = new SQLite(path)
    t.teardown(() => other.close())
    other.exec('BEGIN EXCLUSIVE')
    const locked = performance.now()
    const before = logs.lines.length
    app.dispatcher.notify(portal.memberId)

    t.equal(
      (await app.portals.find(portal.memberId))!.access_token,
      access_token,
      'reading a portal works while locked (re-sealing waits)',
    )

    const health: number[] = []
    let probing = true
    const prober = (async () => {
      while (probing) {
        const { ms, value } = await timed(() => fetch(`${url}/health`))
        t.equal(value.status, 200)
        health.push(ms)
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    const answers = []
    for (let i = 0; i < 5; i++) {
      answers.push(
        await timed(() =>
          postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { secret: conf.signing_secret }),
        ),
      )
    }
    await new Promise((r) => setTimeout(r, 300))
    probing = false
    await prober

    for (const { ms, value } of answers) {
      t.equal(value.status, 503, 'a locked database is 503, so TikTok retries')
      t.ok(Number(value.headers.get('retry-after')) > 0, 'with Retry-After')
      t.match(await value.json(), { error: 'APP_ERR_DB_BUSY' })
      t.ok(ms < 1000, `answered in ${Math.round(ms)} ms`)
    }
    t.ok(health.length >= 3, 'health probed while locked')
    t.ok(
      Math.max(...health) < 1000,
      `/health answered within ${Math.round(Math.max(...health))} ms while the database was locked`,
    )
    const lockedFor = performance.now() - locked
    const failures = logs.lines.slice(before).filter((l) => l.includes('delivery loop failed')).length
    t.ok(
      failures >= 1 && failures <= 2,
      `the delivery loop failed ${failures} time(s) in ${Math.round(lockedFor)} ms and backed off`,
    )
    t.ok(
      logs.lines.slice(before).some((l) => l.includes('SQLITE_BUSY')),
      'the log names SQLITE_BUSY',
    )

    other.exec('ROLLBACK')
    await app.portals.find(portal.memberId)
    const raw = (await app.db
      .selectFrom('portals')
      .select('access_token')
      .where('member_id', '=', portal.memberId)
      .executeTakeFirst())!
    t.match(raw.access_token, /^v1\./, 're-sealed on the first read after the lock')
    const after = await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), {
      secret: conf.signing_secret,
    })
    t.equal(after.status, 200, 'the webhook works once the lock is released')
    app.dispatcher.notify(portal.memberId)
    await waitFor(
      'the stored lead delivered',
      async () => (await app.leads.findByTikTokId(portal.memberId, lead.leadId))?.status === 'delivered',
    )
  },
)
