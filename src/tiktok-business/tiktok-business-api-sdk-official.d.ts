/**
 * The part of TikTok's official JS SDK (npm tiktok-business-api-sdk-official, which ships no
 * types) this app calls: the authentication endpoints. Callback style, superagent underneath.
 * @see node_modules/tiktok-business-api-sdk-official/src/ApiClient.js, src/api/AuthenticationApi.js
 */
declare module 'tiktok-business-api-sdk-official' {
  /** superagent's response: `text` is the raw body, kept even when superagent parsed it. */
  export interface SdkResponse {
    status: number
    text?: string
    headers?: Record<string, string | undefined>
  }
  export type SdkCallback = (
    error: (Error & { status?: number; timeout?: number; code?: string }) | null,
    data: unknown,
    response?: SdkResponse,
  ) => void
  /** superagent's request, returned by every call. */
  export interface SdkRequest {
    abort(): void
  }
  export class ApiClient {
    constructor()
    basePath: string
    /** ms; superagent's overall timeout. */
    timeout: number
    defaultHeaders: Record<string, string | number>
    static instance: ApiClient
  }
  export class AuthenticationApi {
    constructor(apiClient?: ApiClient)
    oauth2AccessToken(opts: { body?: Record<string, unknown> }, callback: SdkCallback): SdkRequest
    oauth2AdvertiserGet(app_id: string, secret: string, Access_Token: string, callback: SdkCallback): SdkRequest
  }
}
