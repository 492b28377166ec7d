/**
 * The emulator's POSTs to the app: a browser-style form POST (install, placement, main page)
 * and a server-to-server event POST, both PHP-nested form bodies. Every one is recorded in
 * `deliveries`; an event POST first passes the event faults (lost, delayed, reordered).
 * @see settings/oauth/simple-way.md, events/index.md
 */
import type { EmulatorContext } from './context.js'
import { stringifyPhpQuery, type PhpMap } from './php-query.js'
import type { PortalState } from './state.js'
import type { HttpReply } from './types/records.js'

export interface PostInput {
  kind: 'install' | 'placement' | 'event'
  portal: PortalState
  url: string
  form: PhpMap
  query?: Record<string, string>
  event?: string
}

function withQuery(url: string, query: Record<string, string> | undefined): string {
  if (!query || Object.keys(query).length === 0) return url
  return `${url}${url.includes('?') ? '&' : '?'}${new URLSearchParams(query).toString()}`
}

function headersOf(response: Response): HttpReply['headers'] {
  const out: HttpReply['headers'] = {}
  response.headers.forEach((value, key) => {
    out[key] = value
  })
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) out['set-cookie'] = cookies
  return out
}

/** One POST to the app. Network failures come back as status 0 with the reason in `body`. */
export async function postForm(ctx: EmulatorContext, input: PostInput): Promise<HttpReply> {
  const url = withQuery(input.url, input.query)
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new Error('outbound timeout')), ctx.outboundTimeoutMs)
  const onClose = () => controller.abort(new Error('emulator closed'))
  ctx.closing.addEventListener('abort', onClose, { once: true })
  let reply: HttpReply
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: stringifyPhpQuery(input.form),
      redirect: 'manual',
      signal: controller.signal,
    })
    reply = { status: response.status, headers: headersOf(response), body: await response.text() }
  } catch (err) {
    reply = { status: 0, headers: {}, body: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }
  } finally {
    clearTimeout(timer)
    ctx.closing.removeEventListener('abort', onClose)
  }
  ctx.deliveries.push({
    at: ctx.now(),
    memberId: input.portal.memberId,
    kind: input.kind,
    url,
    ...(input.event !== undefined ? { event: input.event } : {}),
    status: reply.status,
  })
  return reply
}

const heldEvents = new WeakMap<EmulatorContext, () => Promise<void>>()
/** How long a reordered event waits for a next one before it goes out anyway. */
const REORDER_HOLD_MS = 1000

/**
 * An event POST through the event faults (ctx.faults.events): lost (never sent, never retried),
 * delayed, or held back and sent after the next event. Events are queued on the portal and
 * delivered late or out of order; a failed delivery is not retried.
 * @see events/index.md, api-reference/events/index.md
 */
export async function postEvent(ctx: EmulatorContext, input: PostInput): Promise<HttpReply> {
  const f = ctx.faults.events
  if (f.loseNext > 0) {
    f.loseNext -= 1
    ctx.deliveries.push({
      at: ctx.now(),
      memberId: input.portal.memberId,
      kind: input.kind,
      url: input.url,
      ...(input.event !== undefined ? { event: input.event } : {}),
      status: 0,
      fault: 'lost',
    })
    return { status: 0, headers: {}, body: 'lost' }
  }
  if (f.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, f.delayMs))
  if (!f.reorder) return postForm(ctx, input)
  const previous = heldEvents.get(ctx)
  if (previous) {
    heldEvents.delete(ctx)
    const reply = await postForm(ctx, input)
    await previous()
    return reply
  }
  return new Promise<HttpReply>((resolve) => {
    let sent = false
    const send = async () => {
      if (sent) return
      sent = true
      clearTimeout(timer)
      if (heldEvents.get(ctx) === send) heldEvents.delete(ctx)
      resolve(await postForm(ctx, input))
    }
    const timer = setTimeout(() => void send(), REORDER_HOLD_MS)
    heldEvents.set(ctx, send)
  })
}
