import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { CardView } from './answers.js'
import { buildCardView } from './card.js'
import { CardQuery } from './schemas.js'

/**
 * The card tab's story of one Bitrix24 lead (or deal in simple CRM mode), for a refresh of the
 * tab (the page embeds the first answer). A read, so every user of the portal may; registered
 * inside /api/settings, behind api-guard.ts: the session names the portal, so only its own leads
 * answer, whatever id is asked for.
 */
export async function settingsCardRoutes(plain: FastifyInstance): Promise<void> {
  const app = plain.withTypeProvider<ZodTypeProvider>()
  app.get(
    '/card',
    {
      schema: {
        summary: "One Bitrix24 lead's (or deal's) TikTok story: form, ad, answers, payload, delivery, events sent back",
        querystring: CardQuery,
        response: { 200: CardView },
      },
    },
    async (request): Promise<CardView> =>
      buildCardView(app, {
        portal: request.portal!,
        entity: request.query.entity,
        b24Id: request.query.id,
        personal: request.session!.a,
      }),
  )
}
