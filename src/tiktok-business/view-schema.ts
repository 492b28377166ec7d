import { z } from 'zod'

/**
 * The shape of the tab's TikTok section (GET /api/settings/tiktok and every TikTok action's
 * answer), apart from view.ts so the browser code can import its type without the server's modules.
 */
export const TikTokFormView = z.object({
  pageId: z.string(),
  title: z.string(),
  status: z.string(),
  selected: z.boolean(),
  fields: z.array(z.string()),
  newFields: z.array(z.string()),
  unmappedCustom: z.array(z.string()),
  lastBackfill: z.object({ at: z.string(), added: z.number(), error: z.string().nullable() }).nullable(),
  testLead: z.object({ at: z.string(), leadId: z.string() }).nullable(),
})

export const TikTokConnectionView = z.object({
  advertiserId: z.string(),
  advertiserName: z.string(),
  status: z.enum(['active', 'token_invalid', 'subscription_lost', 'error']),
  statusText: z.string(),
  connectedAt: z.string(),
  connectedBy: z.string(),
  lastCheckAt: z.string().nullable(),
  allForms: z.boolean(),
  forms: z.array(TikTokFormView),
})

/** What the tab's TikTok section shows (GET /api/settings/tiktok). */
export const TikTokView = z.object({
  configured: z.boolean(),
  problems: z.array(z.string()),
  grant: z
    .object({
      id: z.string(),
      advertisers: z.array(
        z.object({
          advertiserId: z.string(),
          advertiserName: z.string(),
          connectedHere: z.boolean(),
          connectedElsewhere: z.string().nullable(),
        }),
      ),
    })
    .nullable(),
  connections: z.array(TikTokConnectionView),
})
export type TikTokView = z.infer<typeof TikTokView>
