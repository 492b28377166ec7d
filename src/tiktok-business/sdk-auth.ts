import { ApiClient, AuthenticationApi, type SdkCallback, type SdkRequest } from 'tiktok-business-api-sdk-official'

/**
 * The two endpoints TikTok's official SDK covers (`/oauth2/access_token/`, `/oauth2/advertiser/get/`),
 * called through it, but read by us: the SDK's own reading is not used, because
 * - it parses with `JSON.parse` (superagent), which rounds 19-digit ids sent as bare numbers;
 * - on a non-zero `code` it throws a plain Error whose message is the only place the code is.
 * superagent keeps the raw body in `response.text` in both cases, so the callback hands that text
 * back and the client parses and classifies it exactly like its own fetch calls.
 * The SDK's `timeout` (superagent's, whole request) is set from the client's `timeoutMs`.
 */
export type SdkOutcome = { kind: 'answer'; status: number; text: string } | { kind: 'failed'; reason: string }

export interface SdkAuth {
  accessToken(body: { app_id: string; secret: string; auth_code: string }): Promise<SdkOutcome>
  advertiserGet(appId: string, secret: string, accessToken: string): Promise<SdkOutcome>
}

export function createSdkAuth(apiUrl: string, timeoutMs: number): SdkAuth {
  const client = new ApiClient()
  client.basePath = apiUrl.replace(/\/+$/, '')
  client.timeout = timeoutMs
  const auth = new AuthenticationApi(client)

  const call = (invoke: (cb: SdkCallback) => SdkRequest) =>
    new Promise<SdkOutcome>((resolve) => {
      const cb: SdkCallback = (error, _data, response) => {
        if (response && typeof response.text === 'string') {
          resolve({ kind: 'answer', status: response.status, text: response.text })
          return
        }
        // No response: network error or timeout. superagent's messages name the host at most,
        // never the query, but only a fixed description leaves here.
        const reason = error?.timeout
          ? `timed out after ${timeoutMs} ms`
          : error?.code
            ? `network error ${error.code}`
            : 'no answer'
        resolve({ kind: 'failed', reason })
      }
      try {
        invoke(cb)
      } catch {
        // The SDK throws synchronously on a missing required parameter.
        resolve({ kind: 'failed', reason: 'the SDK refused the parameters' })
      }
    })

  return {
    accessToken: (body) => call((cb) => auth.oauth2AccessToken({ body }, cb)),
    advertiserGet: (appId, secret, accessToken) =>
      call((cb) => auth.oauth2AdvertiserGet(appId, secret, accessToken, cb)),
  }
}
