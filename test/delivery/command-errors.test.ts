import { createServer, type IncomingMessage } from 'node:http'
import t from 'tap'
import { installedPortal, startApp, startEmulator, waitFor } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import type { Emulator } from '../emulator/app.js'

/*
 * A transient error inside one command of a batch (halt=0: the others run). Until the emulator
 * injects per-command errors itself, a proxy in front of it takes two commands out of the first
 * lead batch it forwards (so Bitrix24 never runs them) and answers them with `code` in result_error.
 * OPERATION_TIME_LIMIT waits for the operating_reset_at of the last success: the proxy makes it 1 s away.
 */
function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => resolve(Buffer.concat(parts)))
  })
}

async function commandFaultProxy(t: { teardown(fn: () => unknown): void }, emu: Emulator, code: string): Promise<{ url: string; failed: string[] }> {
  let armed = true
  const failed: string[] = []
  const proxy = createServer(async (req, res) => {
    let raw = await body(req)
    let errors: Record<string, unknown> = {}
    if (armed && /\/batch(\.json)?(\?|$)/.test(req.url ?? '')) {
      const parsed = JSON.parse(raw.toString() || '{}') as { cmd?: Record<string, string> }
      const adds = Object.entries(parsed.cmd ?? {}).filter(([, c]) => c.startsWith('crm.lead.add'))
      if (adds.length >= 4) {
        armed = false
        for (const [k] of [adds[1]!, adds[3]!]) {
          delete parsed.cmd![k]
          failed.push(k)
          errors[k] = { error: code, error_description: `${code} (injected)` }
        }
        raw = Buffer.from(JSON.stringify(parsed))
      }
    }
    const upstream = await fetch(`${emu.url}${req.url}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'application/json' }, ...(raw.length ? { body: new Uint8Array(raw) } : {}) })
    let answer = Buffer.from(await upstream.arrayBuffer())
    if (Object.keys(errors).length) {
      const json = JSON.parse(answer.toString()) as { result: { result_error: unknown; result_time: Record<string, { operating_reset_at: number }> } }
      const had = json.result.result_error
      json.result.result_error = { ...(had && typeof had === 'object' && !Array.isArray(had) ? had : {}), ...errors }
      // The window's oldest basket drops out in a second (the limit was just reached, scaled down).
      for (const time of Object.values(json.result.result_time ?? {})) time.operating_reset_at = Math.floor(Date.now() / 1000) + 1
      answer = Buffer.from(JSON.stringify(json))
      errors = {}
    }
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
    res.end(answer)
  })
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => proxy.close(() => r())))
  return { url: `http://127.0.0.1:${(proxy.address() as { port: number }).port}`, failed }
}

for (const code of ['QUERY_LIMIT_EXCEEDED', 'OPERATION_TIME_LIMIT', 'ERROR_CORE']) {
  t.test(`${code} inside one command: that lead is retried and delivered once, the others are not re-sent`, async (t) => {
    const emu = await startEmulator(t)
    const proxy = await commandFaultProxy(t, emu, code)
    const { app, url } = await startApp(t, { emu, delivery: { operatingBasketMs: 500 } })
    const portal = await installedPortal(emu, url)
    const conf = (await app.settings.find(portal.memberId))!
    await app.settings.update(portal.memberId, { dedup_policy: 'off' })
    const stored = (await app.portals.find(portal.memberId))!
    await app.db.updateTable('portals').set({ client_endpoint: stored.client_endpoint.replace(emu.url, proxy.url) }).where('member_id', '=', portal.memberId).execute()
    app.b24.forget(portal.memberId)

    const leads = Array.from({ length: 6 }, () => sampleLead())
    await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
    await waitFor('delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 6, 15_000)
    t.equal(proxy.failed.length, 2, 'two commands got the error')
    const adds = emu.calls.filter((c) => c.memberId === portal.memberId && c.method === 'crm.lead.add')
    t.equal(adds.length, 6, 'four added once, the two retried added once: nothing re-sent')
    t.same([...portal.leads.values()].map((l) => String(l.ORIGIN_ID)).sort(), leads.map((l) => l.id).sort(), 'each lead once')
    t.equal((await app.leads.counts(portal.memberId)).failed, 0)
  })
}
