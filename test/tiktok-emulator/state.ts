/**
 * Everything TikTok knows: advertisers, instant forms and their leads, auth codes, tokens,
 * subscriptions. Plain data plus lookups; the HTTP layer decides the answers.
 */
import { randomBytes, randomInt } from 'node:crypto'
import type { FormField, LeadCampaign, PageStatus } from './types.js'

/**
 * TikTok ids are 19-digit decimal strings, above 2^53 ("some exceed the safe integer range",
 * api-evangelist/tiktok-ads conventions), so a JS number would lose digits: the point of
 * numericIds pushes. Each kind gets its own leading digits, like real ids (7…, 18… for ads).
 */
export class IdMaker {
  private next = BigInt(randomInt(1, 1_000_000)) * 1000n

  make(prefix: string, digits = 19): string {
    this.next += BigInt(randomInt(1, 1000))
    const tail = this.next.toString().padStart(digits - prefix.length, '0')
    return `${prefix}${tail}`.slice(0, digits)
  }
}

export function hexToken(bytes = 20): string {
  return randomBytes(bytes).toString('hex')
}

export interface Advertiser {
  id: string
  name: string
}

export interface Lead {
  id: string
  pageId: string
  advertiserId: string
  /** Unix seconds. */
  createTime: number
  answers: Record<string, string>
  campaign: Required<LeadCampaign>
}

export interface Form {
  pageId: string
  advertiserId: string
  title: string
  status: PageStatus
  fields: FormField[]
  /** ms */
  createdAt: number
  updatedAt: number
  /** The ad the form runs in, for leads that name none. [INFERRED] one ad per form by default. */
  ad: Required<LeadCampaign>
  /** Real leads, oldest first. */
  leads: Lead[]
  /** "Only one test lead can be created per lead form" (bububa model/page/lead/mock_create.go). */
  testLead: Lead | null
}

export interface AuthCode {
  code: string
  advertiserIds: string[]
  expiresAt: number
  used: boolean
}

export interface AccessToken {
  token: string
  advertiserIds: string[]
  scope: number[]
  revoked: boolean
}

export interface Subscription {
  id: string
  callbackUrl: string
  accessToken: string
  leadSource: 'INSTANT_FORM'
  advertiserId: string
  pageId: string | null
  deleted: boolean
}

export class TikTokState {
  readonly ids = new IdMaker()
  readonly advertisers = new Map<string, Advertiser>()
  readonly forms = new Map<string, Form>()
  readonly codes = new Map<string, AuthCode>()
  readonly tokens = new Map<string, AccessToken>()
  readonly subscriptions = new Map<string, Subscription>()
  readonly redirectUris = new Set<string>()

  constructor(private readonly now: () => number) {}

  addAdvertiser(input: { id?: string; name: string }): Advertiser {
    const id = input.id ?? this.ids.make('70')
    if (this.advertisers.has(id)) throw new Error(`tiktok emulator: advertiser ${id} exists`)
    const advertiser = { id, name: input.name }
    this.advertisers.set(id, advertiser)
    return advertiser
  }

  addForm(
    advertiserId: string,
    input: { id?: string; title: string; fields?: FormField[]; status?: PageStatus },
  ): Form {
    if (!this.advertisers.has(advertiserId)) throw new Error(`tiktok emulator: unknown advertiser ${advertiserId}`)
    const pageId = input.id ?? this.ids.make('74')
    if (this.forms.has(pageId)) throw new Error(`tiktok emulator: form ${pageId} exists`)
    const at = this.now()
    const form: Form = {
      pageId,
      advertiserId,
      title: input.title,
      status: input.status ?? 'PUBLISHED',
      // [INFERRED] TikTok's default Instant Form asks name, email and phone number.
      fields: checkFields(input.fields ?? [{ name: 'name' }, { name: 'email' }, { name: 'phone_number' }]),
      createdAt: at,
      updatedAt: at,
      ad: {
        campaign_id: this.ids.make('18', 16),
        campaign_name: `${input.title} campaign`,
        adgroup_id: this.ids.make('18', 16),
        adgroup_name: `${input.title} ad group`,
        ad_id: this.ids.make('18', 16),
        ad_name: `${input.title} ad`,
      },
      leads: [],
      testLead: null,
    }
    this.forms.set(pageId, form)
    return form
  }

  form(pageId: string): Form {
    const form = this.forms.get(pageId)
    if (!form) throw new Error(`tiktok emulator: unknown form ${pageId}`)
    return form
  }

  /** A token that exists and was not revoked. */
  liveToken(token: string | undefined): AccessToken | undefined {
    if (token === undefined) return undefined
    const found = this.tokens.get(token)
    return found && !found.revoked ? found : undefined
  }

  /**
   * A subscription delivers while it exists and its token lives.
   * @see bububa model/subscription/subscription.go SubscriptionDetail.AccessToken: "if the token is
   *   revoked (by the developer or the advertiser) the webhook subscription becomes invalid"
   */
  isValid(sub: Subscription): boolean {
    return !sub.deleted && this.liveToken(sub.accessToken) !== undefined
  }

  makeLead(form: Form, answers: Record<string, string>, createTime: number, campaign: LeadCampaign = {}): Lead {
    return {
      id: this.ids.make('75'),
      pageId: form.pageId,
      advertiserId: form.advertiserId,
      createTime,
      answers: { ...answers },
      campaign: { ...form.ad, ...campaign },
    }
  }
}

function checkFields(fields: FormField[]): FormField[] {
  const names = new Set<string>()
  for (const field of fields) {
    if (field.name === '') throw new Error('tiktok emulator: a form field needs a name')
    if (names.has(field.name)) throw new Error(`tiktok emulator: duplicate form field ${field.name}`)
    names.add(field.name)
  }
  return fields.map((f) => ({ ...f }))
}

export { checkFields }
