import type { FastifyBaseLogger } from 'fastify'
import type { B24Clients } from '../bitrix24/client.js'
import type { SecretBox } from '../crypto/secret-box.js'
import type { LeadRepository } from '../db/repositories/leads.js'
import type { PortalRepository } from '../db/repositories/portals.js'
import type { SettingsRepository } from '../db/repositories/settings.js'
import type { TikTokRepository } from '../db/repositories/tiktok.js'
import type { Dispatcher } from '../delivery/dispatcher.js'
import type { Clock } from '../clock.js'
import type { TikTokApi } from './api-client.js'

/** What the TikTok connection's parts share (built once in plugins/tiktok.ts). */
export interface TikTokContext {
  api: TikTokApi
  repo: TikTokRepository
  leads: LeadRepository
  settings: SettingsRepository
  portals: PortalRepository
  b24: B24Clients
  dispatcher: Dispatcher
  box: SecretBox
  log: FastifyBaseLogger
  /** the app's clock (stamps, expiries and the export task's poll wait) */
  clock: Clock
  /** how often a running lead download task is polled */
  taskPollMs: number
}

export const DAY_MS = 86_400_000

/** An error's message for a status line (TikTok errors never carry tokens or secrets). */
export const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err))
