import { z } from 'zod'

/**
 * Bitrix24's own names stay verbatim here (member_id, AUTH_ID, …) and are mapped once.
 * @see https://apidocs.bitrix24.com/api-reference/app-installation/index.html
 */
const memberId = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'member_id must be 1–64 letters, digits, dot, dash or underscore')
const token = z.string().min(1).max(512)

/** POST fields Bitrix24 sends to the install URL and to every placement/handler URL. */
export const FrameRequestBody = z.object({
  AUTH_ID: token,
  AUTH_EXPIRES: z.coerce.number().int().positive().optional(),
  REFRESH_ID: token.optional(),
  SERVER_ENDPOINT: z.string().max(512).optional(),
  APPLICATION_TOKEN: z.string().min(1).max(256).optional(),
  member_id: memberId,
  status: z.string().max(4).optional(),
  PLACEMENT: z.string().max(128).default('DEFAULT'),
  PLACEMENT_OPTIONS: z.string().max(8192).optional(),
})
export type FrameRequestBody = z.infer<typeof FrameRequestBody>

export const FrameRequestQuery = z.object({
  DOMAIN: z.string().max(255).optional(),
  PROTOCOL: z.string().max(2).optional(),
  LANG: z.string().max(8).optional(),
  APP_SID: z.string().max(128).optional(),
})
export type FrameRequestQuery = z.infer<typeof FrameRequestQuery>

/**
 * PLACEMENT_OPTIONS of a CRM card's tab (CRM_LEAD_DETAIL_TAB, CRM_DEAL_DETAIL_TAB): the JSON string
 * `{"ID":"8061","URI":"/crm/deal/details/8061/?…"}`, the record's id as a string; the PLACEMENT code
 * says which kind of record it is.
 * @see https://apidocs.bitrix24.com/api-reference/widgets/crm/detail-tab.html
 */
export const DetailTabOptions = z.object({
  ID: z.coerce.number().int().positive(),
})

/** The install POST must carry a refresh token: it is what lets us verify the install with the OAuth server. */
export const InstallBody = FrameRequestBody.extend({ REFRESH_ID: token })
export type InstallBody = z.infer<typeof InstallBody>

const EventAuth = z.object({
  member_id: memberId,
  application_token: z.string().min(1).max(256),
  domain: z.string().max(255).optional(),
  access_token: z.string().max(512).optional(),
  refresh_token: z.string().max(512).optional(),
  client_endpoint: z.string().max(512).optional(),
  server_endpoint: z.string().max(512).optional(),
  user_id: z.coerce.number().optional(),
})

/**
 * An event delivery (server to server, form-encoded with PHP-style keys).
 * @see https://apidocs.bitrix24.com/api-reference/events/index.html
 */
export const EventBody = z.object({
  event: z
    .string()
    .min(1)
    .max(128)
    .transform((s) => s.toUpperCase()),
  data: z.record(z.string(), z.unknown()).optional().default({}),
  ts: z.coerce.number().optional(),
  auth: EventAuth,
})
export type EventBody = z.infer<typeof EventBody>

/**
 * The OAuth server's answer to grant_type=refresh_token.
 * @see https://apidocs.bitrix24.com/api-reference/oauth/index.html
 */
export const OAuthTokenAnswer = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires: z.coerce.number().int().optional(),
  expires_in: z.coerce.number().int().default(3600),
  scope: z.string().default(''),
  domain: z.string().min(1),
  server_endpoint: z.string().url(),
  client_endpoint: z.string().url(),
  member_id: memberId,
  user_id: z.coerce.number().optional(),
  status: z.string().default('L'),
})
export type OAuthTokenAnswer = z.infer<typeof OAuthTokenAnswer>

export const OAuthErrorAnswer = z.object({ error: z.string(), error_description: z.string().optional() })

/** Every REST reply is one of these two envelopes. */
export const RestErrorEnvelope = z.object({ error: z.string(), error_description: z.string().optional() })

export const BatchResult = z.object({
  result: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).default({}),
  result_error: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).default({}),
  result_total: z.unknown().optional(),
  result_next: z.unknown().optional(),
  result_time: z.unknown().optional(),
})
export type BatchResult = z.infer<typeof BatchResult>

/** What the event handler answers once an event is taken (refusals are the app's error shape). */
export const EventResult = z.object({ ok: z.literal(true) })
