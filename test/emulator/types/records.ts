/** What the emulator records of the traffic, and what its outbound POSTs answer. */

export interface RecordedCall {
  at: number
  memberId: string
  /** Lower-case method name, as Bitrix24 resolves it. */
  method: string
  /** Request parameters without `auth`. */
  params: unknown
  /** HTTP status the call got (a batch sub-command: the status it would have had alone); 0 = no answer. */
  status: number
  error?: string
  inBatch?: boolean
  userId?: number
}

export interface RecordedOAuthCall {
  at: number
  httpMethod: 'GET' | 'POST'
  grantType: string
  clientId: string
  refreshToken?: string
  memberId?: string
  status: number
  error?: string
}

export interface RecordedDelivery {
  at: number
  memberId: string
  kind: 'install' | 'placement' | 'event'
  url: string
  event?: string
  status: number
  /** Set when an event fault dropped this POST (it never reached the app). */
  fault?: 'lost'
}

export interface HttpReply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface IssuedTokens {
  access_token: string
  refresh_token: string
  /** Unix seconds. */
  expires: number
  expires_in: number
}
