/**
 * LEAD callbacks: one POST per matching subscription, signed, retried with exponential backoff
 * until the window after the first attempt is over, then dropped.
 * @see developers.tiktok.com/doc/webhooks-overview: "If a 200 HTTP status code is not returned,
 *   TikTok assumes that the delivery was unsuccessful … retries … for up to 72 hours using
 *   exponential backoff. After 72 hours, the notification is discarded."
 * @see developers.tiktok.com/doc/webhooks-verification: `TikTok-Signature: t=<ts>,s=<hex>`,
 *   HMAC-SHA256(secret, t + "." + body). That page is for the developer platform; for LEAD callbacks
 *   it is the most likely scheme (reference/tiktok.md §4), used here with the app secret.
 */
import { createHmac } from 'node:crypto'
import type { TikTokState, Subscription } from './state.js'
import type { RecordedDelivery } from './types.js'
import { notificationBody, type Notification } from './webhook-body.js'

export interface PushOptions {
  appSecret: string
  now: () => number
  numericIds: boolean
  timeoutMs: number
  firstDelayMs: number
  factor: number
  windowMs: number
}

export function sign(secret: string, timeSec: number, body: string): string {
  return createHmac('sha256', secret).update(`${timeSec}.${body}`).digest('hex')
}

export class Pusher {
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly inFlight = new Set<Promise<void>>()
  private readonly waiters = new Set<() => void>()
  private readonly closer = new AbortController()

  constructor(
    private readonly state: TikTokState,
    private readonly opts: PushOptions,
    private readonly deliveries: RecordedDelivery[],
  ) {}

  /** Starts delivery of one notification to one subscription: first attempt right away. */
  push(sub: Subscription, n: Notification): void {
    this.schedule(sub, n, 1, 0, 0)
  }

  /** `offsetMs`: time of this attempt after the first one, by the backoff schedule. */
  private schedule(
    sub: Subscription,
    n: Notification,
    attempt: number,
    delayMs: number,
    offsetMs: number,
    prev?: RecordedDelivery,
  ): void {
    if (this.closer.signal.aborted) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      const run = this.attempt(sub, n, attempt, offsetMs, prev).finally(() => {
        this.inFlight.delete(run)
        this.wake()
      })
      this.inFlight.add(run)
    }, delayMs)
    this.timers.add(timer)
  }

  private async attempt(
    sub: Subscription,
    n: Notification,
    attempt: number,
    offsetMs: number,
    prev?: RecordedDelivery,
  ): Promise<void> {
    // A revoked token or a deleted subscription stops retries too. [INFERRED] TikTok checks each time.
    if (!this.state.isValid(sub)) {
      if (prev) prev.outcome = 'gave_up'
      return
    }
    const timeSec = Math.floor(this.opts.now() / 1000)
    const body = notificationBody(n, timeSec, this.opts.numericIds)
    const headers = {
      'content-type': 'application/json',
      'tiktok-signature': `t=${timeSec},s=${sign(this.opts.appSecret, timeSec, body)}`,
    }
    const record: RecordedDelivery = {
      at: this.opts.now(),
      url: sub.callbackUrl,
      subscriptionId: sub.id,
      leadIds: n.leads.map((l) => l.lead.id),
      attempt,
      status: 0,
      headers,
      body,
      outcome: 'retry',
    }
    this.deliveries.push(record)
    try {
      const signal = AbortSignal.any([this.closer.signal, AbortSignal.timeout(this.opts.timeoutMs)])
      const response = await fetch(sub.callbackUrl, { method: 'POST', headers, body, signal, redirect: 'manual' })
      record.status = response.status
      await response.body?.cancel().catch(() => undefined)
    } catch {
      record.status = 0
    }
    if (record.status === 200) {
      record.outcome = 'delivered'
      return
    }
    if (this.closer.signal.aborted) return
    const delay = this.opts.firstDelayMs * this.opts.factor ** (attempt - 1)
    if (offsetMs + delay > this.opts.windowMs) {
      record.outcome = 'gave_up'
      return
    }
    this.schedule(sub, n, attempt + 1, delay, offsetMs + delay, record)
  }

  get busy(): boolean {
    return this.timers.size > 0 || this.inFlight.size > 0
  }

  private wake(): void {
    if (this.busy) return
    for (const resolve of this.waiters) resolve()
    this.waiters.clear()
  }

  settled(): Promise<void> {
    if (!this.busy) return Promise.resolve()
    return new Promise((resolve) => this.waiters.add(resolve))
  }

  async close(): Promise<void> {
    this.closer.abort()
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    await Promise.allSettled([...this.inFlight])
    this.wake()
  }
}
