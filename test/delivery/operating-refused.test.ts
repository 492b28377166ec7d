import { createServer, type IncomingMessage } from 'node:http'
import t from 'tap'
import { api, installedPortal, openTab, startApp, startEmulator, waitFor } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'

/*
 * Until the emulator enforces the operating limit itself, a proxy in front of it answers the
 * first lead batch the way Bitrix24 does past the limit: every command's result_error is
 * OPERATION_TIME_LIMIT (nothing created). Everything else goes through to the emulator.
 * @see settings/performance/limits.md (b24restdocs) "Resource Intensity Limits"
 */
function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => resolve(Buffer.concat(parts)))
  })
}

t.test('OPERATION_TIME_LIMIT on the commands: the method is held (no batch meanwhile), the tab says so, leads go once, no attempt counted', async (t) => {
  const emu = await startEmulator(t)
  let refuse = 1
  const seen: Array<{ at: number; refused: boolean }> = []
  const proxy = createServer(async (req, res) => {
    const raw = await body(req)
    const isBatch = /\/batch(\.json)?(\?|$)/.test(req.url ?? '')
    if (isBatch) {
      const text = raw.toString()
      const parsed = (() => {
        try {
          return JSON.parse(text) as { cmd?: Record<string, string> }
        } catch {
          return null
        }
      })()
      const cmd = parsed?.cmd ?? {}
      const adds = Object.entries(cmd).filter(([, c]) => c.startsWith('crm.lead.add'))
      if (adds.length) {
        const refused = refuse > 0
        seen.push({ at: Date.now(), refused })
        if (refused) {
          refuse -= 1
          const errors = Object.fromEntries(adds.map(([k]) => [k, { error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked due to operation time limit.' }]))
          const now = Date.now() / 1000
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ result: { result: [], result_error: errors, result_total: [], result_next: [], result_time: [] }, time: { start: now, finish: now, duration: 0, processing: 0, date_start: '', date_finish: '', operating: 0, operating_reset_at: Math.floor(now) + 600 } }))
          return
        }
      }
    }
    const upstream = await fetch(`${emu.url}${req.url}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'application/json' }, ...(raw.length ? { body: new Uint8Array(raw) } : {}) })
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
    res.end(Buffer.from(await upstream.arrayBuffer()))
  })
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => proxy.close(() => r())))
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`

  const { app, url } = await startApp(t, { emu, delivery: { operatingBasketMs: 1500 } })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  await app.settings.update(portal.memberId, { dedup_policy: 'off' })
  const page = await openTab(url, portal)
  const stored = (await app.portals.find(portal.memberId))!
  await app.db.updateTable('portals').set({ client_endpoint: stored.client_endpoint.replace(emu.url, proxyUrl) }).where('member_id', '=', portal.memberId).execute()
  app.b24.forget(portal.memberId)

  const leads = Array.from({ length: 5 }, () => sampleLead())
  await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
  const limit = await waitFor('held', () => app.dispatcher.limitOf(portal.memberId))
  const state = (await (await api(url, page).get('state')).json()) as { problems: string[] }
  t.ok(state.problems.some((p) => /Bitrix24 is limiting this app: sending resumes at \d\d:\d\d/.test(p) && /5 lead/.test(p)), `the tab says so: ${state.problems.join(' | ')}`)
  await waitFor('delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 5, 15_000)

  t.equal(seen.filter((s) => s.refused).length, 1, 'refused once')
  const refusedAt = seen.find((s) => s.refused)!.at
  const during = seen.filter((s) => s.at > refusedAt && s.at < limit.until - 50)
  t.same(during, [], 'no lead batch sent while the method was held')
  t.same([...portal.leads.values()].map((l) => String(l.ORIGIN_ID)).sort(), leads.map((l) => l.id).sort(), 'each lead once')
  for (const l of leads) t.equal((await app.leads.findByTikTokId(portal.memberId, l.id))!.attempts, 1, 'the refused try is not counted as an attempt')
})
