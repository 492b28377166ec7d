/**
 * A TikTok API for Business emulator: one real HTTP server playing the advertiser auth page
 * (`/portal/auth`), the Marketing API (`/open_api/v1.3/…/`) for OAuth, instant forms, test
 * leads, lead subscriptions, lead downloads, CRM event sets, the Events API (`/event/track/`),
 * BASIC reports and ad account details (`/advertiser/info/`), plus TikTok's side of LEAD webhooks
 * (signed pushes with retries), faults on purpose and demo pages.
 *
 * It follows the TikTok sources on its own (it imports nothing from src/), so it catches the
 * app's misreadings instead of sharing them. Each rule carries an `@see`; what no source
 * settles is marked [INFERRED].
 *
 *   const tt = await buildTikTokEmulator({ appId: 'tt-app-1', appSecret: 'tt-secret' })
 *   await tt.listen(0)
 *   const { id } = tt.addAdvertiser({ name: 'Acme' })
 *   const { pageId } = tt.addForm(id, { title: 'Spring promo' })
 *   …
 *   await tt.close()
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { registerAdvertiser } from './advertiser.js'
import { API_PREFIX, Quota, type Ctx } from './api.js'
import { registerDemo } from './demo.js'
import { CODE, fail } from './envelope.js'
import { registerEvents } from './events.js'
import { registerExport } from './export.js'
import { FaultSwitch } from './faults.js'
import { DEFAULT_SCOPE, isRegistered, issueCode, registerOAuth, type OAuthOptions } from './oauth.js'
import { registerPages } from './pages.js'
import { Pusher } from './push.js'
import { holdReports, registerReport } from './report.js'
import { checkFields, TikTokState, type Form, type Lead } from './state.js'
import { matching, registerSubscriptions } from './subscriptions.js'
import type {
  AdDayStats,
  AdvertiserInput,
  ApproveInput,
  FormField,
  PageStatus,
  RecordedApiCall,
  RecordedDelivery,
  ReportHold,
  SubmitLeadOptions,
  SubscriptionView,
  TikTokEmulator,
  TikTokEmulatorOptions,
  TrackedEvents,
} from './types.js'
import { newNotification } from './webhook-body.js'

class TikTokEmulatorServer implements TikTokEmulator {
  readonly deliveries: RecordedDelivery[] = []
  readonly calls: RecordedApiCall[] = []
  readonly counters = { throttled: 0, eventTrackThrottled: 0 }
  readonly faults = new FaultSwitch()
  private readonly app: FastifyInstance
  private readonly state: TikTokState
  private readonly ctx: Ctx
  private readonly oauth: OAuthOptions
  private readonly pusher: Pusher
  private base: string | undefined

  constructor(opts: TikTokEmulatorOptions) {
    const now = opts.now ?? Date.now
    this.state = new TikTokState(now)
    const quota = opts.quota ?? { perSecond: 10, perMinute: 600 }
    const eventQuota = opts.eventQuota ?? { perSecond: 1000, perMinute: 60_000 }
    this.ctx = {
      state: this.state,
      appId: opts.appId,
      appSecret: opts.appSecret,
      now,
      calls: this.calls,
      counters: this.counters,
      quota: new Quota(quota.perSecond, quota.perMinute, now),
      eventQuota: new Quota(eventQuota.perSecond, eventQuota.perMinute, now),
      faults: this.faults,
    }
    this.oauth = { authCodeTtlMs: opts.authCodeTtlMs ?? 3600_000, scope: opts.scope ?? DEFAULT_SCOPE }
    const retry = opts.retry ?? { firstDelayMs: 60_000, factor: 2, windowMs: 72 * 3600_000 }
    this.pusher = new Pusher(
      this.state,
      {
        appSecret: opts.appSecret,
        now,
        numericIds: opts.numericIds ?? true,
        timeoutMs: opts.pushTimeoutMs ?? 10_000,
        ...retry,
      },
      this.deliveries,
    )
    this.app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 1024 * 1024 })
    // The auth page and demo forms post urlencoded forms; repeated names (checkboxes) become arrays.
    this.app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      const out: Record<string, string | string[]> = {}
      for (const [key, value] of new URLSearchParams(body as string)) {
        const prev = out[key]
        out[key] = prev === undefined ? value : ([] as string[]).concat(prev, value)
      }
      done(null, out)
    })
    // TikTok's Go gateway answers an unknown path (a missing trailing slash, say) with net/http's
    // bare text. @see api-evangelist/tiktok-ads errors yml: "a missing trailing slash is the classic
    // cause of 404 page not found"
    this.app.setNotFoundHandler((_request, reply) =>
      reply.code(404).type('text/plain; charset=utf-8').send('404 page not found'),
    )
    // A body that is not JSON still gets the envelope. [INFERRED] code 40002.
    this.app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
      if (request.url.startsWith(API_PREFIX) && (error.statusCode ?? 500) < 500) {
        return reply.code(200).send(fail(Date.now(), CODE.PARAM, error.message))
      }
      return reply.code(error.statusCode ?? 500).send({ message: error.message })
    })
    registerOAuth(this.app, this.ctx, this.oauth)
    registerPages(this.app, this.ctx, (form, lead) => this.deliver(form, lead))
    registerSubscriptions(this.app, this.ctx)
    registerExport(this.app, this.ctx, {
      taskDelayMs: opts.taskDelayMs ?? 2000,
      zipThresholdBytes: opts.zipThresholdBytes ?? 10 * 1024 * 1024,
      fileTtlMs: opts.fileTtlMs ?? 10 * 60_000,
    })
    registerReport(this.app, this.ctx)
    registerAdvertiser(this.app, this.ctx)
    registerEvents(this.app, this.ctx)
    registerDemo(this.app, this.state, (pageId, answers) => this.submitLead(pageId, answers))
  }

  async ready(): Promise<void> {
    await this.app.ready()
  }

  get url(): string {
    if (this.base === undefined) throw new Error('tiktok emulator: call listen() before using URLs')
    return this.base
  }

  get authUrl(): string {
    return `${this.url}/portal/auth`
  }

  async listen(port = 0): Promise<string> {
    await this.app.listen({ port, host: '127.0.0.1' })
    const address = this.app.server.address()
    if (address === null || typeof address === 'string') throw new Error('tiktok emulator: no TCP address')
    this.base = `http://127.0.0.1:${address.port}`
    return this.base
  }

  async close(): Promise<void> {
    await this.pusher.close()
    await this.app.close()
  }

  addRedirectUri(uri: string): void {
    new URL(uri) // throws on a non-URL
    this.state.redirectUris.add(uri)
  }

  addAdvertiser(input: AdvertiserInput): { id: string } {
    return { id: this.state.addAdvertiser(input).id }
  }

  addForm(
    advertiserId: string,
    input: { id?: string; title: string; fields?: FormField[]; status?: PageStatus },
  ): { pageId: string } {
    return { pageId: this.state.addForm(advertiserId, input).pageId }
  }

  /** Editing the questions: later leads and exports use the new list. */
  setFormFields(pageId: string, fields: FormField[]): void {
    const form = this.state.form(pageId)
    form.fields = checkFields(fields)
    form.updatedAt = this.ctx.now()
  }

  /** Stored in the form's history (exports read only its last 90 days) and pushed to matching subscriptions. */
  submitLead(pageId: string, answers: Record<string, string>, opts: SubmitLeadOptions = {}): { leadId: string } {
    const form = this.state.form(pageId)
    const createTime = opts.createTime ?? Math.floor(this.ctx.now() / 1000)
    const lead = this.state.makeLead(form, answers, createTime, opts.campaign)
    form.leads.push(lead)
    form.leads.sort((a, b) => a.createTime - b.createTime)
    this.deliver(form, lead)
    return { leadId: lead.id }
  }

  private deliver(form: Form, lead: Lead): void {
    const advertiser = this.state.advertisers.get(form.advertiserId)
    if (!advertiser) return
    for (const sub of matching(this.ctx, form.advertiserId, form.pageId)) {
      this.pusher.push(sub, newNotification([{ form, advertiser, lead }]))
    }
  }

  async approve(input: ApproveInput): Promise<{ location: string; authCode: string }> {
    if (!isRegistered(this.ctx, input.redirectUri))
      throw new Error(`tiktok emulator: redirect URI not registered: ${input.redirectUri}`)
    const advertiserIds = input.advertiserIds ?? [...this.state.advertisers.keys()]
    for (const id of advertiserIds)
      if (!this.state.advertisers.has(id)) throw new Error(`tiktok emulator: unknown advertiser ${id}`)
    return issueCode(this.ctx, this.oauth, input.redirectUri, input.state, advertiserIds)
  }

  /** The advertiser cancels the authorisation: every token covering it dies, and with it its subscriptions. */
  revokeAdvertiserAccess(advertiserId: string): void {
    for (const token of this.state.tokens.values()) if (token.advertiserIds.includes(advertiserId)) token.revoked = true
  }

  deleteSubscription(subscriptionId: string): void {
    const sub = this.state.subscriptions.get(subscriptionId)
    if (!sub) throw new Error(`tiktok emulator: unknown subscription ${subscriptionId}`)
    sub.deleted = true
  }

  subscriptions(): SubscriptionView[] {
    return [...this.state.subscriptions.values()].map((s) => ({
      subscriptionId: s.id,
      callbackUrl: s.callbackUrl,
      advertiserId: s.advertiserId,
      pageId: s.pageId,
      valid: this.state.isValid(s),
    }))
  }

  addCrmEventSet(advertiserId: string, input: { id?: string; name: string }): { eventSetId: string } {
    return { eventSetId: this.state.addCrmEventSet(advertiserId, input).id }
  }

  /** An event set id gives that set's events; an advertiser id, those of all its sets. */
  trackedEvents(advertiserOrEventSetId: string): TrackedEvents {
    const id = advertiserOrEventSetId
    const bySet = this.state.eventSets.has(id)
    if (!bySet && !this.state.advertisers.has(id))
      throw new Error(`tiktok emulator: ${id} is neither an event set nor an advertiser`)
    const mine = (e: { eventSetId: string; advertiserId: string }) => (bySet ? e.eventSetId : e.advertiserId) === id
    return {
      events: this.state.trackedEvents.filter(mine).map((e) => ({ ...e })),
      duplicates: this.state.duplicateEvents.filter(mine).map((e) => ({ ...e })),
    }
  }

  setAdStats(advertiserId: string, adId: string, date: string, stats: AdDayStats): void {
    this.state.setAdStats(advertiserId, adId, date, stats)
  }

  addAdSpend(advertiserId: string, adId: string, atMs: number, stats: AdDayStats): void {
    this.state.addAdSpend(advertiserId, adId, atMs, stats)
  }

  holdReports(): ReportHold {
    return holdReports(this.ctx)
  }

  settled(): Promise<void> {
    return this.pusher.settled()
  }
}

export async function buildTikTokEmulator(opts: TikTokEmulatorOptions): Promise<TikTokEmulator> {
  const emulator = new TikTokEmulatorServer(opts)
  await emulator.ready()
  return emulator
}
