import { z } from 'zod'
import { MAX_REQUEST_S, OPERATING_LIMIT_S } from './bitrix24/limits.js'

/**
 * Every setting the app reads from its environment, parsed once at start.
 * Defaults let `npm start` run with no environment at all.
 */
const boolish = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes')

export const ConfigSchema = z.object({
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** The address Bitrix24 and TikTok reach this app at; used to build handler and webhook URLs. */
  PUBLIC_URL: z.url({ message: 'PUBLIC_URL must be an absolute http(s) URL' }).optional(),
  DATABASE_PATH: z.string().min(1).default('./data/app.sqlite'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  B24_CLIENT_ID: z.string().min(1).optional(),
  B24_CLIENT_SECRET: z.string().min(1).optional(),
  /** Bitrix24's OAuth server; tests point it at the emulator. */
  B24_OAUTH_URL: z
    .url({ message: 'B24_OAUTH_URL must be an absolute http(s) URL' })
    .default('https://oauth.bitrix.info'),
  /** Refresh an access token this many seconds before Bitrix24 says it expires. */
  B24_TOKEN_REFRESH_MARGIN_S: z.coerce.number().int().min(0).max(1800).default(120),
  B24_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(30_000),
  /**
   * The longest a request may run on Bitrix24's side (the platform cuts it at 60 s): a batch whose
   * outcome is unknown is looked up only after it can no longer be executing.
   * @see https://apidocs.bitrix24.com/limits.html
   */
  B24_MAX_REQUEST_S: z.coerce.number().int().min(1).max(3600).default(MAX_REQUEST_S),
  /**
   * Keep each method's operating time (server seconds within Bitrix24's 10-minute window) under
   * this; Bitrix24 refuses the method with OPERATION_TIME_LIMIT past 480.
   * @see https://apidocs.bitrix24.com/limits.html
   */
  B24_OPERATING_LIMIT_S: z.coerce.number().min(0.01).max(OPERATING_LIMIT_S).default(OPERATING_LIMIT_S),
  /**
   * How often each portal's offline event queue (lead and deal changes made while we were not
   * listening) is collected, to keep the delivered leads' stages; also once at start.
   * @see https://apidocs.bitrix24.com/api-reference/events/offline-events.html
   */
  B24_OFFLINE_EVENTS_INTERVAL_S: z.coerce.number().int().min(1).max(86_400).default(60),
  /** Secret for signing settings-page session tokens; a random one is made per process if unset. */
  SESSION_SECRET: z.string().min(32, 'SESSION_SECRET must be at least 32 characters').optional(),
  /** After a batch's outcome is unknown (timeout, reset, crash), wait this long before looking its leads up in Bitrix24. */
  DELIVERY_RECONCILE_AFTER_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 * 1024)
    .default(256 * 1024),
  TRUST_PROXY: boolish.default(false),
  /**
   * Key(s) that encrypt tokens and secrets at rest (AES-256-GCM): `id:base64key[,id:base64key…]`,
   * 32-byte keys; the first encrypts, all decrypt, so a key can be rotated. Unset: a key file is
   * made beside the database (0600), or a per-process key for an in-memory database.
   */
  SECRETS_KEY: z
    .string()
    .regex(
      /^[A-Za-z0-9_-]{1,16}:[A-Za-z0-9+/=_-]{43,44}(,[A-Za-z0-9_-]{1,16}:[A-Za-z0-9+/=_-]{43,44})*$/,
      'SECRETS_KEY must be id:base64key[,id:base64key…] with 32-byte keys',
    )
    .optional(),
  /** Our TikTok API for Business developer app; without both, "Connect TikTok" is off and only the webhook URL works. */
  TIKTOK_APP_ID: z.string().min(1).optional(),
  TIKTOK_APP_SECRET: z.string().min(1).optional(),
  TIKTOK_API_URL: z
    .url({ message: 'TIKTOK_API_URL must be an absolute http(s) URL' })
    .default('https://business-api.tiktok.com'),
  /** TikTok's advertiser authorisation page. */
  TIKTOK_AUTH_URL: z
    .url({ message: 'TIKTOK_AUTH_URL must be an absolute http(s) URL' })
    .default('https://business-api.tiktok.com/portal/auth'),
  TIKTOK_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(30_000),
  /** How often each connection is checked (token alive, subscription present, form questions). */
  TIKTOK_CHECK_INTERVAL_S: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .default(86_400),
  /** How often each connected form's leads are re-exported to catch anything the push missed. */
  TIKTOK_BACKFILL_INTERVAL_S: z.coerce
    .number()
    .int()
    .min(1)
    .max(30 * 86_400)
    .default(86_400),
  /** Requests per minute one webhook URL (key) may send; beyond it 429 (TikTok retries). Far above real TikTok traffic. */
  WEBHOOK_MAX_REQUESTS_PER_MIN: z.coerce.number().int().min(1).max(10_000_000).default(600),
  /** Body bytes per minute one webhook URL (key) may send; beyond it 429, so a leaked URL cannot fill the disk. */
  WEBHOOK_MAX_BYTES_PER_MIN: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 ** 3)
    .default(20 * 1024 * 1024),
  /**
   * Days a finished lead keeps its raw payload (and a delivered one its answers: they are in
   * Bitrix24 now), and portal events are kept; purged in the background. 0 keeps everything.
   */
  RETENTION_DAYS: z.coerce.number().int().min(0).max(3650).default(90),
  /** Bearer token that /metrics requires (`Authorization: Bearer …`); unset: /metrics answers 404. */
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
})

export type Config = z.infer<typeof ConfigSchema>

/** The TikTok developer app, when both credentials are set. */
export function tiktokApp(config: Config): { appId: string; appSecret: string } | null {
  return config.TIKTOK_APP_ID && config.TIKTOK_APP_SECRET
    ? { appId: config.TIKTOK_APP_ID, appSecret: config.TIKTOK_APP_SECRET }
    : null
}

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

/** Parse the environment (or any record) into a Config, with one readable line per bad value. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<Config> = {},
): Config {
  const known = Object.keys(ConfigSchema.shape)
  // Empty strings mean "unset": `FOO= npm start` should take the default, not fail.
  const picked = Object.fromEntries(known.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]))
  const parsed = ConfigSchema.safeParse(picked)
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`))
  }
  const missingPublicUrl = publicUrlProblem(parsed.data, env.NODE_ENV)
  if (missingPublicUrl) throw new ConfigError([missingPublicUrl])
  return { ...parsed.data, ...overrides }
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/

/**
 * In production the handler URLs bound at install and the webhook URL shown must come from
 * PUBLIC_URL, never from a request's Host header. Production means NODE_ENV=production, or
 * Bitrix24 credentials with a non-loopback OAuth server (a loopback one is the local emulator).
 */
export function publicUrlProblem(
  c: Pick<Config, 'PUBLIC_URL' | 'B24_CLIENT_ID' | 'B24_CLIENT_SECRET' | 'B24_OAUTH_URL'>,
  nodeEnv: string | undefined,
): string | null {
  if (c.PUBLIC_URL) return null
  const credentials = !!c.B24_CLIENT_ID && !!c.B24_CLIENT_SECRET && !LOOPBACK.test(new URL(c.B24_OAUTH_URL).hostname)
  if (nodeEnv !== 'production' && !credentials) return null
  return "PUBLIC_URL: required in production (NODE_ENV=production or Bitrix24 credentials set), so handler and webhook URLs never come from a request's Host header"
}

/** Warnings worth printing at start; the app still runs with them. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = []
  if (!config.B24_CLIENT_ID || !config.B24_CLIENT_SECRET) {
    warnings.push(
      'B24_CLIENT_ID / B24_CLIENT_SECRET are not set: installs cannot be verified and tokens cannot be refreshed until the marketplace credentials are configured',
    )
  }
  if (!config.PUBLIC_URL) {
    warnings.push("PUBLIC_URL is not set: handler and webhook URLs are derived from each request's Host header")
  }
  if (!config.TIKTOK_APP_ID || !config.TIKTOK_APP_SECRET) {
    warnings.push(
      'TIKTOK_APP_ID / TIKTOK_APP_SECRET are not set: "Connect TikTok" is off; leads can still arrive at each portal\'s webhook URL from a forwarder',
    )
  }
  if (!config.SESSION_SECRET) {
    warnings.push(
      'SESSION_SECRET is not set: a random one is used, so settings-page sessions end when the process restarts',
    )
  }
  return warnings
}
