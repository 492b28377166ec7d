import type { TikTokErrorKind } from '../errors.js'

/**
 * TikTok's return codes, from its return-code page (business-api.tiktok.com/portal/docs?id=1737172488964097)
 * as catalogued in api-evangelist/tiktok-ads `errors/tiktok-ads-error-codes.yml`.
 */
const RATE_LIMITED = new Set([
  40100, // requests too frequent: the developer app's quota
  40016, // the same, for one endpoint
  40133, // the same, for one advertiser
])
const TOKEN_INVALID = new Set([
  40102, // the access token has expired
  40104, // the access token is empty
  40105, // invalid or incorrect access token (also revoked: reference/tiktok.md §6)
  40106, // the core user is invalid (token no longer valid for the advertiser)
])
const PERMISSION = new Set([
  40001, // no permission to perform the operation (scope not granted, not the account's admin)
  40118, // app or advertiser not on the feature's allowlist
  40119, // developer and advertiser do not belong to the same company
  40125, // the developer does not have the permission
])
const TRANSIENT = new Set([
  40201, // task is not ready
  40202, // write conflict: "retry may resolve this issue"
  60001, // maintenance
])

export function classify(code: number): TikTokErrorKind {
  if (RATE_LIMITED.has(code)) return 'rate_limited'
  if (TOKEN_INVALID.has(code)) return 'token_invalid'
  if (PERMISSION.has(code)) return 'permission'
  // 5xxxx: "service error" (50000 system error, 50002, 51305).
  if (TRANSIENT.has(code) || (code >= 50000 && code < 60000)) return 'transient'
  return 'bad_request'
}

export const KIND_TEXT: Record<TikTokErrorKind, string> = {
  rate_limited: 'the app is over its TikTok quota',
  token_invalid: 'the advertiser token is empty, expired or revoked',
  permission: 'the token lacks a permission for this',
  bad_request: 'TikTok refused the request',
  transient: 'TikTok did not answer usably',
}
