/**
 * Shared pieces of the emulator's own tests: a manual clock, an emulator that closes on
 * teardown, REST callers in the three encodings a portal accepts, and a tiny app-side receiver
 * that records what Bitrix24 POSTs to it.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { buildEmulator, type Emulator, type EmulatorOptions, type Portal } from './index.js'
import { parsePhpQuery, stringifyPhpQuery, type PhpMap } from './php-query.js'

export { fakeClock, type Clock } from '../fake-clock.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

// Test code reads deep into JSON answers; a loose type keeps the assertions readable.
export type Json = any

export async function startEmulator(t: Teardown, opts: EmulatorOptions = {}): Promise<Emulator> {
  const emu = await buildEmulator(opts)
  await emu.listen()
  t.teardown(() => emu.close())
  return emu
}

export interface RestReply {
  status: number
  body: Json
}

async function read(response: Response): Promise<RestReply> {
  const text = await response.text()
  let body: Json = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body }
}

/** POST with a JSON body and `auth` inside it, as b24jssdk does. */
export async function callJson(portal: Portal, method: string, params: PhpMap, token?: string): Promise<RestReply> {
  const response = await fetch(`${portal.clientEndpoint}${method}.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(token === undefined ? params : { ...params, auth: token }),
  })
  return read(response)
}

/** POST with a PHP-style form body (`fields[PHONE][0][VALUE]=…`). */
export async function callForm(portal: Portal, method: string, params: PhpMap, token?: string): Promise<RestReply> {
  const response = await fetch(`${portal.clientEndpoint}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: stringifyPhpQuery(token === undefined ? params : { ...params, auth: token }),
  })
  return read(response)
}

/** GET with everything in the query string. */
export async function callGet(portal: Portal, method: string, params: PhpMap, token?: string): Promise<RestReply> {
  const query = stringifyPhpQuery(token === undefined ? params : { ...params, auth: token })
  return read(await fetch(`${portal.clientEndpoint}${method}.json?${query}`))
}

export interface Received {
  method: string
  url: string
  path: string
  query: PhpMap
  headers: http.IncomingHttpHeaders
  body: string
  form: PhpMap
}

export interface Receiver {
  url: string
  requests: Received[]
  /** Resolves with the first recorded request matching `pred` (waits up to `ms`). */
  waitFor(pred: (r: Received) => boolean, ms?: number): Promise<Received>
}

/** A stand-in for the app: records every request; `respond` may call the emulator back. */
export async function startReceiver(
  t: Teardown,
  respond: (
    r: Received,
  ) => Promise<{ status?: number; body?: string } | undefined> | { status?: number; body?: string } | undefined = () =>
    undefined,
): Promise<Receiver> {
  const requests: Received[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const url = req.url ?? '/'
      const q = url.indexOf('?')
      const received: Received = {
        method: req.method ?? 'GET',
        url,
        path: q < 0 ? url : url.slice(0, q),
        query: q < 0 ? {} : parsePhpQuery(url.slice(q + 1)),
        headers: req.headers,
        body,
        form: parsePhpQuery(body),
      }
      requests.push(received)
      Promise.resolve(respond(received))
        .then((out) => {
          res.writeHead(out?.status ?? 200, { 'content-type': 'text/plain' })
          res.end(out?.body ?? 'ok')
        })
        .catch((err: unknown) => {
          res.writeHead(500)
          res.end(String(err))
        })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async waitFor(pred, ms = 2000) {
      const deadline = Date.now() + ms
      for (;;) {
        const hit = requests.find(pred)
        if (hit) return hit
        if (Date.now() > deadline) throw new Error('receiver: expected request did not arrive')
        await new Promise((r) => setTimeout(r, 10))
      }
    },
  }
}
