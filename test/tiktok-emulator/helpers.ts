/**
 * Shared pieces of the TikTok emulator's own tests: a manual clock, an emulator that closes on
 * teardown, an API caller, a connected advertiser (approve + token exchange), and a receiver
 * that records what TikTok POSTs to it and answers with a scripted status.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { buildTikTokEmulator, type TikTokEmulator, type TikTokEmulatorOptions } from './index.js'

export { fakeClock, type Clock } from '../fake-clock.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

// Test code reads deep into JSON answers; a loose type keeps the assertions readable.
export type Json = any

export const APP = { appId: 'tt-app-1', appSecret: 'tt-secret-0123456789abcdef' }
export const REDIRECT = 'https://crm.example.com/tiktok/callback'

export async function startTikTok(t: Teardown, opts: Partial<TikTokEmulatorOptions> = {}): Promise<TikTokEmulator> {
  // TikTok's 10/s would throttle these tests' bursts; quota.test.ts sets its own small quota.
  const tt = await buildTikTokEmulator({ ...APP, quota: { perSecond: 10_000, perMinute: 100_000 }, ...opts })
  await tt.listen(0)
  t.teardown(() => tt.close())
  tt.addRedirectUri(REDIRECT)
  return tt
}

export interface CallOptions {
  token?: string
  headers?: Record<string, string>
}

/** GET with a query, or POST with a JSON body, under /open_api/v1.3/. */
export async function call(
  tt: TikTokEmulator,
  method: 'GET' | 'POST',
  endpoint: string,
  params: Record<string, unknown> = {},
  opts: CallOptions = {},
): Promise<{ status: number; body: Json; text: string }> {
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.token !== undefined) headers['Access-Token'] = opts.token
  let url = `${tt.url}/open_api/v1.3/${endpoint}`
  let body: string | undefined
  if (method === 'GET') {
    const query = new URLSearchParams()
    for (const [k, v] of Object.entries(params)) query.set(k, typeof v === 'string' ? v : JSON.stringify(v))
    url += `?${query.toString()}`
  } else {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(params)
  }
  const response = await fetch(url, { method, headers, body })
  const text = await response.text()
  let parsed: Json = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed, text }
}

/** Approve on the auth page (programmatically) and exchange the code: a connected advertiser. */
export async function connect(tt: TikTokEmulator, advertiserIds?: string[]): Promise<string> {
  const { authCode } = await tt.approve({
    state: 's',
    redirectUri: REDIRECT,
    ...(advertiserIds ? { advertiserIds } : {}),
  })
  const res = await call(tt, 'POST', 'oauth2/access_token/', {
    app_id: APP.appId,
    secret: APP.appSecret,
    auth_code: authCode,
  })
  if (res.body.code !== 0) throw new Error(`token exchange failed: ${res.text}`)
  return res.body.data.access_token as string
}

export interface Received {
  headers: http.IncomingHttpHeaders
  body: string
}

export interface Receiver {
  url: string
  received: Received[]
  /** Statuses to answer, in order; after they run out, 200. */
  script: number[]
}

export async function startReceiver(t: Teardown, script: number[] = []): Promise<Receiver> {
  const receiver: Receiver = { url: '', received: [], script }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      receiver.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      res.statusCode = receiver.script.shift() ?? 200
      res.end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tiktok/webhook/key1`
  return receiver
}

export function subscribeBody(token: string, callbackUrl: string, detail: Record<string, unknown> = {}) {
  return {
    app_id: APP.appId,
    secret: APP.appSecret,
    subscribe_entity: 'LEAD',
    callback_url: callbackUrl,
    subscription_detail: { access_token: token, lead_source: 'INSTANT_FORM', ...detail },
  }
}

export async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > until) throw new Error('waitFor: timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}
