import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { Config } from '../config.js'
import { publicBase } from '../public-url.js'
import { settingsContext } from './api-guard.js'
import { SecretRevealed, SecretRotated, WebhookRotated } from './answers.js'
import { maskSecret, webhookUrl } from './view-model.js'

/** How long a rotated-out secret keeps verifying, so TikTok-side changes need not be instant. */
export const SECRET_GRACE_MS = 24 * 60 * 60_000
/** How long a rotated-out webhook URL keeps accepting leads, so forwarders and TikTok can move. */
export const WEBHOOK_KEY_GRACE_MS = 24 * 60 * 60_000

/**
 * The webhook URL and its signing secret: reveal and rotate (administrators only). Registered
 * inside /api/settings, behind api-guard.ts.
 */
export function settingsWebhookRoutes(config: Config) {
  return async function routes(plain: FastifyInstance): Promise<void> {
    const app = plain.withTypeProvider<ZodTypeProvider>()
    const revealSchema = { summary: 'The webhook signing secret, unmasked', response: { 200: SecretRevealed } }
    app.post(
      '/secret/reveal',
      { schema: revealSchema },
      async (request): Promise<SecretRevealed> => ({
        secret: (await settingsContext(app, request)).conf.signing_secret,
      }),
    )

    /** New webhook URL; the old one keeps accepting leads for the grace period; the app's TikTok subscriptions move now. */
    const rotateUrlSchema = { summary: 'A new webhook URL', response: { 200: WebhookRotated } }
    app.post('/webhook/rotate', { schema: rotateUrlSchema }, async (request): Promise<WebhookRotated> => {
      const m = request.session!.m
      const rotated = await app.settings.rotateWebhookKey(m, WEBHOOK_KEY_GRACE_MS)
      const url = webhookUrl(publicBase(config, request), rotated)
      request.log.info({ memberId: m }, 'webhook URL rotated')
      if (app.tiktok.connector) {
        try {
          await app.tiktok.connector.moveCallback(m, url)
        } catch (err) {
          request.log.warn(
            { err, memberId: m },
            'moving TikTok subscriptions to the new webhook URL failed; the health check retries',
          )
        }
      }
      return { url, previousValidUntil: new Date(rotated.previous_webhook_key_until!).toISOString() }
    })

    const rotateSecretSchema = { summary: 'A new webhook signing secret', response: { 200: SecretRotated } }
    app.post('/secret/rotate', { schema: rotateSecretSchema }, async (request): Promise<SecretRotated> => {
      const rotated = await app.settings.rotateSecret(request.session!.m, SECRET_GRACE_MS)
      request.log.info({ memberId: request.session!.m }, 'webhook secret rotated')
      return {
        secret: rotated.signing_secret,
        secretMasked: maskSecret(rotated.signing_secret),
        previousValidUntil: new Date(rotated.previous_secret_until!).toISOString(),
      }
    })
  }
}
