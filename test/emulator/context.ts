/** What the route modules and the lifecycle share of the running emulator. */
import type { Socket } from 'node:net'
import type { FaultController } from './faults.js'
import type { OperatingMeter } from './operating.js'
import type { PortalState } from './state.js'
import type { TokenStore } from './tokens.js'
import type { Emulator } from './types/emulator.js'
import type { RecordedCall, RecordedDelivery, RecordedOAuthCall } from './types/records.js'

export interface EmulatorContext {
  readonly clientId: string
  readonly clientSecret: string
  readonly scopes: ReadonlySet<string>
  readonly scopeText: string
  readonly now: () => number
  readonly tokens: TokenStore
  readonly faults: FaultController
  /** The operating limit: method costs and the per-method baskets. */
  readonly operating: OperatingMeter
  readonly calls: RecordedCall[]
  readonly oauthCalls: RecordedOAuthCall[]
  readonly deliveries: RecordedDelivery[]
  readonly counters: Emulator['counters']
  readonly outboundTimeoutMs: number
  baseUrl(): string
  findPortal(memberId: string): PortalState | undefined
  /** Keeps a socket open without answering, until the client gives up or the emulator closes. */
  hold(socket: Socket): void
  /** Runs an outbound delivery in the background; `settled()` and `close()` wait for/abort it. */
  track(work: (signal: AbortSignal) => Promise<unknown>): void
  /** An AbortSignal that fires when the emulator closes. */
  readonly closing: AbortSignal
}
