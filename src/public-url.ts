import type { FastifyRequest } from 'fastify'
import type { Config } from './config.js'

/**
 * The base URL handlers are bound at and webhook URLs are shown with: PUBLIC_URL. Without it
 * (local development only: config refuses to start in production without it) the address this
 * server listens on. Never the request's Host header, which whoever sends the request chooses.
 */
export function publicBase(config: Pick<Config, 'PUBLIC_URL'>, request: Pick<FastifyRequest, 'server'>): string {
  if (config.PUBLIC_URL) return config.PUBLIC_URL
  const addr = request.server.server.address()
  if (!addr || typeof addr === 'string') return 'http://localhost'
  const host =
    addr.address === '0.0.0.0' || addr.address === '::'
      ? 'localhost'
      : addr.family === 'IPv6'
        ? `[${addr.address}]`
        : addr.address
  return `http://${host}:${addr.port}`
}
