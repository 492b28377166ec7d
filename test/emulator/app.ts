/**
 * A Bitrix24 emulator: one real HTTP server that plays the OAuth server (`/oauth/token/`,
 * `/rest/`) and any number of portals (`/p/<memberId>/rest/`), plus Bitrix24's side of the app
 * lifecycle (install, placements, events, uninstall) and fault injection.
 *
 * It follows the platform docs on its own (it imports nothing from src/), so it catches the
 * app's misreadings instead of sharing them. Each rule carries an `@see` to the doc behind it
 * (paths in github.com/bitrix24/b24restdocs).
 *
 *   const emu = await buildEmulator({ now: clock.now })
 *   await emu.listen()
 *   const portal = emu.createPortal()
 *   await emu.installApp(portal, { installUrl: `${appUrl}/install` })
 *   …
 *   await emu.close()
 */
import type { Socket } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import type { EmulatorContext } from './context.js'
import { registerControl } from './control.js'
import { completeActivity, editEntity, logCall, moveEntity } from './crm-moves.js'
import { openDetailTab } from './detail-tab.js'
import { deliverEvent } from './event-delivery.js'
import { FaultController } from './faults.js'
import * as lifecycle from './lifecycle.js'
import { offlineRecords } from './offline-queue.js'
import { registerOAuth } from './oauth.js'
import { OperatingMeter } from './operating.js'
import { registerRest } from './rest.js'
import { PortalState } from './state.js'
import { TokenStore } from './tokens.js'
import type { CreatePortalInput, Emulator, InstallAppInput, OpenDetailTabInput, Portal } from './types/emulator.js'
import type { EmulatorOptions, OperatingOptions } from './types/options.js'
import type { HttpReply, RecordedCall, RecordedDelivery, RecordedOAuthCall } from './types/records.js'

const DEFAULT_SCOPE = 'crm,placement,user_brief'
/** @see settings/oauth/auto-renewal.md: "The lifetime of refresh_token is 180 days." */
const DEFAULT_REFRESH_TTL_SEC = 180 * 24 * 3600

class EmulatorServer implements Emulator {
  readonly calls: RecordedCall[] = []
  readonly oauthCalls: RecordedOAuthCall[] = []
  readonly deliveries: RecordedDelivery[] = []
  readonly counters = { rateLimited: 0, restRequests: 0, refreshes: 0, operatingRefused: 0 }
  readonly faults: FaultController
  private readonly operating: OperatingMeter
  private readonly app: FastifyInstance
  private readonly portals = new Map<string, PortalState>()
  private readonly tokens: TokenStore
  private readonly now: () => number
  private readonly held = new Set<Socket>()
  private readonly pending = new Set<Promise<unknown>>()
  private readonly closer = new AbortController()
  private readonly ctx: EmulatorContext
  private base: string | undefined

  constructor(private readonly opts: EmulatorOptions) {
    this.now = opts.now ?? Date.now
    this.tokens = new TokenStore(this.now, opts.tokenTtlSec ?? 3600, opts.refreshTtlSec ?? DEFAULT_REFRESH_TTL_SEC)
    this.faults = new FaultController(() => this.tokens.expireAll())
    this.operating = new OperatingMeter(this.now, opts.operating)
    const scopeText = opts.scope ?? DEFAULT_SCOPE
    this.ctx = {
      clientId: opts.clientId ?? 'local.test.app',
      clientSecret: opts.clientSecret ?? 'test-secret',
      scopes: new Set(
        scopeText
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      ),
      scopeText,
      now: this.now,
      tokens: this.tokens,
      faults: this.faults,
      operating: this.operating,
      calls: this.calls,
      oauthCalls: this.oauthCalls,
      deliveries: this.deliveries,
      counters: this.counters,
      outboundTimeoutMs: opts.outboundTimeoutMs ?? 10_000,
      baseUrl: () => this.url,
      findPortal: (memberId) => this.portals.get(memberId),
      hold: (socket) => this.hold(socket),
      track: (work) => this.track(work),
      closing: this.closer.signal,
    }
    this.app = Fastify({
      logger: opts.logger ?? false,
      bodyLimit: 16 * 1024 * 1024,
      forceCloseConnections: true,
      // b24jssdk joins client_endpoint (ending in /rest/) and "/method": /rest//method.
      routerOptions: { ignoreDuplicateSlashes: true, ignoreTrailingSlash: true },
    })
    // Bodies are read by hand: PHP-style nested forms and JSON share one parameter bag.
    this.app.removeAllContentTypeParsers()
    this.app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body))
    registerOAuth(this.app, this.ctx)
    registerRest(this.app, this.ctx)
    registerControl(this.app, this)
  }

  setOperating(o: OperatingOptions): void {
    this.operating.set(o)
  }

  async ready(): Promise<void> {
    await this.app.ready()
  }

  get url(): string {
    if (this.base === undefined) throw new Error('b24 emulator: call listen() before using URLs')
    return this.base
  }

  get oauthUrl(): string {
    return this.url
  }

  /** The HTTP server, for test pages that must share the portal's origin (see frame-host.ts). */
  get server(): import('node:http').Server {
    return this.app.server
  }

  async listen(port = 0): Promise<string> {
    await this.app.listen({ port, host: '127.0.0.1' })
    const address = this.app.server.address()
    if (address === null || typeof address === 'string') throw new Error('b24 emulator: no TCP address')
    this.base = `http://127.0.0.1:${address.port}`
    return this.base
  }

  async close(): Promise<void> {
    this.closer.abort()
    for (const socket of this.held) socket.destroy()
    this.held.clear()
    await Promise.allSettled([...this.pending])
    await this.app.close()
  }

  createPortal(p: CreatePortalInput = {}): Portal {
    const portal = new PortalState(
      {
        baseUrl: () => this.url,
        tokens: this.tokens,
        now: this.now,
        drainRate: this.opts.drainRate,
        burst: this.opts.burst,
      },
      p,
    )
    if (this.portals.has(portal.memberId)) throw new Error(`b24 emulator: portal ${portal.memberId} exists`)
    this.portals.set(portal.memberId, portal)
    return portal
  }

  portal(memberId: string): Portal | undefined {
    return this.portals.get(memberId)
  }

  private state(portal: Portal): PortalState {
    const state = this.portals.get(portal.memberId)
    if (!state) throw new Error(`b24 emulator: unknown portal ${portal.memberId}`)
    return state
  }

  installApp(portal: Portal, app: InstallAppInput): Promise<HttpReply> {
    return lifecycle.installApp(this.ctx, this.state(portal), app)
  }

  finishInstall(portal: Portal): Promise<HttpReply[]> {
    return lifecycle.finishInstall(this.ctx, this.state(portal))
  }

  openPlacement(
    portal: Portal,
    args: { url: string; placement?: string; options?: Record<string, unknown>; userId?: number },
  ): Promise<HttpReply> {
    return lifecycle.openPlacement(this.ctx, this.state(portal), args)
  }

  openDetailTab(portal: Portal, input: OpenDetailTabInput): Promise<HttpReply> {
    return openDetailTab(this.ctx, this.state(portal), input)
  }

  deliverEvent(
    portal: Portal,
    event: string,
    data: Record<string, unknown>,
    opts?: { applicationToken?: string; url?: string },
  ): Promise<HttpReply[]> {
    return deliverEvent(this.ctx, this.state(portal), event, data, opts)
  }

  uninstallApp(portal: Portal, opts?: { clean?: boolean }): Promise<HttpReply[]> {
    return lifecycle.uninstallApp(this.ctx, this.state(portal), opts)
  }

  updateApp(portal: Portal, opts: { version: string }): Promise<HttpReply[]> {
    return lifecycle.updateApp(this.ctx, this.state(portal), opts)
  }

  moveLead(portal: Portal, leadId: number, statusId: string, opts: { userId?: number } = {}): void {
    moveEntity(this.ctx, this.state(portal), 'lead', leadId, statusId, opts.userId)
  }

  moveDeal(portal: Portal, dealId: number, stageId: string, opts: { userId?: number } = {}): void {
    moveEntity(this.ctx, this.state(portal), 'deal', dealId, stageId, opts.userId)
  }

  completeActivity(portal: Portal, activityId: number, opts: { userId?: number } = {}): void {
    completeActivity(this.ctx, this.state(portal), activityId, opts.userId)
  }

  editLead(portal: Portal, leadId: number, fields: Record<string, string>, opts: { userId?: number } = {}): void {
    editEntity(this.ctx, this.state(portal), 'lead', leadId, fields, opts.userId)
  }

  editDeal(portal: Portal, dealId: number, fields: Record<string, string>, opts: { userId?: number } = {}): void {
    editEntity(this.ctx, this.state(portal), 'deal', dealId, fields, opts.userId)
  }

  logCall(
    portal: Portal,
    input: { ownerTypeId: number; ownerId: number; startedAt: number; endedAt: number; subject?: string },
    opts: { userId?: number } = {},
  ): number {
    return logCall(this.ctx, this.state(portal), input, opts.userId)
  }

  offlineQueue(portal: Portal): ReturnType<Emulator['offlineQueue']> {
    return offlineRecords(this.state(portal)).map((r) => ({
      id: r.id,
      event: r.event,
      entityId: Number((r.data['FIELDS'] as { ID?: unknown } | undefined)?.ID),
      processId: r.processId,
      connector: r.connector,
      error: r.error,
    }))
  }

  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending])
  }

  listPortals(): PortalState[] {
    return [...this.portals.values()]
  }

  private hold(socket: Socket): void {
    if (this.closer.signal.aborted) {
      socket.destroy()
      return
    }
    this.held.add(socket)
    socket.once('close', () => this.held.delete(socket))
  }

  private track(work: (signal: AbortSignal) => Promise<unknown>): void {
    const promise = work(this.closer.signal).catch(() => undefined)
    this.pending.add(promise)
    void promise.finally(() => this.pending.delete(promise))
  }
}

export async function buildEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const emulator = new EmulatorServer(opts)
  await emulator.ready()
  return emulator
}
