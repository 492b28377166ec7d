import { createHash, randomBytes } from 'node:crypto'
import { manifest } from '../../manifest/app.js'
import type { TikTokConnection } from '../db/schema.js'
import { Errors } from '../errors.js'
import { DAY_MS, type TikTokContext } from './context.js'
import { backfillForm } from './backfill.js'
import { fieldsOf, isWanted, refreshForms } from './forms.js'
import { createStateSigner, STATE_TTL_MS } from './oauth-state.js'
import { drainUnsubscribes, liveSubscriptionIds, syncSubscriptions } from './subscriptions.js'

/** How long an approved authorisation waits for the admin to pick ad accounts. */
const GRANT_TTL_MS = 60 * 60_000

export type ConnectRefusal = 'forged_state' | 'replayed_state' | 'denied' | 'portal_gone' | 'exchange_failed'

export class ConnectRefused extends Error {
  constructor(
    readonly why: ConnectRefusal,
    detail: string,
  ) {
    super(detail)
    this.name = 'ConnectRefused'
  }
}

export interface GrantedAdvertiser {
  advertiserId: string
  advertiserName: string
}

export type TikTokConnector = ReturnType<typeof createTikTokConnector>

/**
 * "Connect TikTok" and what an admin does with a connection afterwards.
 * @see https://business-api.tiktok.com/portal/docs (advertiser authorisation; Lead Generation subscriptions, test leads)
 */
export function createTikTokConnector(
  ctx: TikTokContext,
  opts: { appId: string; authUrl: string; stateSecret: string },
) {
  const signer = createStateSigner(opts.stateSecret)

  async function own(memberId: string, advertiserId: string): Promise<TikTokConnection> {
    const conn = await ctx.repo.findConnection(advertiserId)
    // Another portal's ad account looks exactly like a missing one.
    if (!conn || conn.member_id !== memberId) throw Errors.notFound('this ad account is not connected to this portal')
    return conn
  }

  /** Distinct answers to one question among the portal's latest leads (list items for a new field). */
  async function answersSeen(memberId: string, question: string): Promise<string[]> {
    const seen = new Set<string>()
    for (const row of await ctx.leads.latest(memberId, { limit: 200 })) {
      const lead = JSON.parse(row.lead_json) as { answers?: Array<{ key: string; value: string }> }
      for (const a of lead.answers ?? []) if (a.key === question && a.value.trim()) seen.add(a.value.trim())
    }
    return [...seen]
  }

  /** Drain the cancel outbox now, without making the admin wait for TikTok. */
  function drainSoon(): void {
    void drainUnsubscribes(ctx).catch((err) =>
      ctx.log.warn({ err }, 'cancelling TikTok subscriptions failed; retried later'),
    )
  }

  const connector = {
    /** The TikTok authorisation URL for this admin, with a fresh single-use state. */
    async startConnect(memberId: string, user: { id: number; name: string }, redirectUri: string): Promise<string> {
      const now = ctx.now()
      const { state, payload } = signer.sign(memberId, user.id, now)
      await ctx.repo.saveState({
        nonce: payload.n,
        member_id: memberId,
        user_id: user.id,
        user_name: user.name,
        redirect_uri: redirectUri,
        expires_at: now + STATE_TTL_MS,
      })
      const url = new URL(opts.authUrl)
      url.searchParams.set('app_id', opts.appId)
      url.searchParams.set('state', state)
      url.searchParams.set('redirect_uri', redirectUri)
      return url.toString()
    },

    /**
     * TikTok's redirect back: check the state (signature, expiry, single use, portal and user), then
     * exchange the auth_code for the advertiser's long-term token and keep the ad accounts it grants
     * as a pending grant for the admin to pick from. A refusal changes nothing.
     */
    async finishConnect(q: {
      state?: string | undefined
      auth_code?: string | undefined
    }): Promise<{ memberId: string; advertisers: GrantedAdvertiser[] }> {
      const now = ctx.now()
      const payload = signer.verify(q.state, now)
      if (!payload) throw new ConnectRefused('forged_state', 'the state is missing, forged or expired')
      const row = await ctx.repo.consumeState(payload.n)
      if (!row || row.member_id !== payload.m || row.user_id !== payload.u || row.expires_at <= now)
        throw new ConnectRefused('replayed_state', 'this authorisation was already used or has expired')
      if (!q.auth_code) throw new ConnectRefused('denied', 'TikTok did not grant access (no auth_code)')
      const portal = await ctx.portals.find(row.member_id)
      if (!portal || portal.state === 'uninstalled')
        throw new ConnectRefused('portal_gone', 'the app is no longer installed on this portal')
      let token: string
      let scope: number[]
      let advertisers: GrantedAdvertiser[]
      try {
        const exchanged = await ctx.api.exchangeAuthCode(q.auth_code)
        token = exchanged.accessToken
        scope = exchanged.scope
        const granted = new Set(exchanged.advertiserIds)
        advertisers = (await ctx.api.listAdvertisers(token)).filter(
          (a) => granted.size === 0 || granted.has(a.advertiserId),
        )
      } catch (err) {
        throw new ConnectRefused('exchange_failed', err instanceof Error ? err.message : String(err))
      }
      const settings = await ctx.settings.ensure(row.member_id)
      const callbackUrl = new URL(
        manifest.paths.tiktokWebhook.replace(':key', settings.webhook_key),
        row.redirect_uri,
      ).toString()
      await ctx.repo.saveGrant({
        id: randomBytes(12).toString('base64url'),
        member_id: row.member_id,
        user_id: row.user_id,
        user_name: row.user_name,
        token_sealed: ctx.box.seal(token),
        scope_json: JSON.stringify(scope),
        advertisers_json: JSON.stringify(advertisers),
        callback_url: callbackUrl,
        expires_at: now + GRANT_TTL_MS,
      })
      ctx.log.info({ memberId: row.member_id, advertisers: advertisers.length }, 'TikTok authorisation received')
      return { memberId: row.member_id, advertisers }
    },

    async cancelGrant(memberId: string, grantId: string): Promise<void> {
      await ctx.repo.deleteGrant(memberId, grantId)
    },

    /**
     * Connect the picked ad accounts: store each (an account already connected to another portal is
     * refused with where it is), read its forms, subscribe to its leads, and start the opt-in import.
     * Picking an account this portal already has reconnects it with the new token (a revoked token's
     * subscriptions are dead, so they are made again).
     */
    async selectGrant(memberId: string, grantId: string, advertiserIds: string[], importDays: number): Promise<void> {
      const now = ctx.now()
      const grant = await ctx.repo.findGrant(memberId, now)
      if (!grant || grant.id !== grantId) throw Errors.tiktokGrantExpired()
      const granted = new Map(
        (JSON.parse(grant.advertisers_json) as GrantedAdvertiser[]).map((a) => [a.advertiserId, a]),
      )
      const unknown = advertiserIds.filter((id) => !granted.has(id))
      if (unknown.length) throw Errors.badRequest(`not granted by this authorisation: ${unknown.join(', ')}`)
      for (const owner of await ctx.repo.ownersOf(advertiserIds)) {
        if (owner.member_id === memberId) continue
        const other = await ctx.portals.find(owner.member_id)
        throw Errors.tiktokAdAccountTaken(
          `ad account ${granted.get(owner.advertiser_id)?.advertiserName ?? owner.advertiser_id} is already connected to the Bitrix24 portal ${other?.domain ?? 'of another customer'}; disconnect it there first`,
        )
      }
      const live = await liveSubscriptionIds(ctx.api)
      for (const advertiserId of advertiserIds) {
        const a = granted.get(advertiserId)!
        const fields = {
          advertiser_name: a.advertiserName,
          token_sealed: grant.token_sealed,
          scope_json: grant.scope_json,
          callback_url: grant.callback_url,
          connected_by_id: grant.user_id,
          connected_by_name: grant.user_name,
          connected_at: now,
          import_days: importDays,
          status: 'active' as const,
          status_reason: null,
          last_check_at: now,
          updated_at: now,
        }
        const existing = await ctx.repo.findConnection(advertiserId)
        if (existing) await ctx.repo.updateConnection(advertiserId, fields)
        else if (
          !(await ctx.repo.insertConnection({
            advertiser_id: advertiserId,
            member_id: memberId,
            all_forms: 1,
            subscription_id: null,
            ...fields,
          }))
        )
          throw Errors.tiktokAdAccountTaken(`ad account ${a.advertiserName} was just connected elsewhere`)
        const conn = (await ctx.repo.findConnection(advertiserId))!
        const token = ctx.box.open(conn.token_sealed)
        const forms = await refreshForms(ctx, conn, token)
        try {
          await syncSubscriptions(ctx, conn, forms, token, live)
        } catch (err) {
          await ctx.repo.updateConnection(advertiserId, {
            status: 'subscription_lost',
            status_reason: err instanceof Error ? err.message : String(err),
            updated_at: ctx.now(),
          })
        }
        if (importDays > 0) connector.backfillSoon(conn, now - importDays * DAY_MS)
      }
      await ctx.repo.deleteGrant(memberId, grantId)
      ctx.log.info({ memberId, advertisers: advertiserIds.length, importDays }, 'TikTok ad accounts connected')
      drainSoon()
    },

    /** All forms, or only the picked ones; subscriptions follow. */
    async setForms(memberId: string, advertiserId: string, allForms: boolean, pageIds: string[]): Promise<void> {
      const conn = await own(memberId, advertiserId)
      const now = ctx.now()
      const picked = new Set(pageIds)
      await ctx.repo.updateConnection(advertiserId, { all_forms: allForms ? 1 : 0, updated_at: now })
      for (const f of await ctx.repo.listForms(advertiserId))
        await ctx.repo.updateForm(advertiserId, f.page_id, {
          selected: allForms || picked.has(f.page_id) ? 1 : 0,
          updated_at: now,
        })
      const fresh = (await ctx.repo.findConnection(advertiserId))!
      const token = ctx.box.open(conn.token_sealed)
      const forms = await refreshForms(ctx, fresh, token)
      await syncSubscriptions(ctx, fresh, forms, token)
      drainSoon()
    },

    /**
     * The portal's webhook URL changed (rotation): every connection's subscriptions move to `url`.
     * Each is subscribed again with the new callback first and the old subscriptions go to the
     * cancel outbox after, so no lead falls in a gap (the old URL keeps working meanwhile). A
     * connection TikTok refuses is marked subscription_lost; the health check re-creates it.
     */
    async moveCallback(memberId: string, url: string): Promise<void> {
      for (const conn of await ctx.repo.listConnections(memberId)) {
        await ctx.repo.updateConnection(conn.advertiser_id, { callback_url: url, updated_at: ctx.now() })
        const moved = (await ctx.repo.findConnection(conn.advertiser_id))!
        try {
          // An empty "live" set: every stored subscription counts as gone, so each is made again at the new URL.
          await syncSubscriptions(
            ctx,
            moved,
            await ctx.repo.listForms(conn.advertiser_id),
            ctx.box.open(moved.token_sealed),
            new Set(),
          )
        } catch (err) {
          await ctx.repo.updateConnection(conn.advertiser_id, {
            status: 'subscription_lost',
            status_reason: err instanceof Error ? err.message : String(err),
            updated_at: ctx.now(),
          })
        }
      }
      const grant = await ctx.repo.findGrant(memberId, ctx.now())
      if (grant) await ctx.repo.saveGrant({ ...grant, callback_url: url })
      drainSoon()
    },

    /** Unsubscribe (through the outbox) and forget the token. */
    async disconnect(memberId: string, advertiserId: string): Promise<void> {
      await own(memberId, advertiserId)
      await ctx.repo.forgetConnection(advertiserId, ctx.now())
      ctx.log.info({ memberId, advertiserId }, 'TikTok ad account disconnected')
      drainSoon()
    },

    /** Uninstall (with or without CLEAN): every connection of the portal goes, subscriptions are cancelled. */
    async forgetPortal(memberId: string): Promise<void> {
      await ctx.repo.forgetPortal(memberId, ctx.now())
      drainSoon()
    },

    /**
     * A real TikTok test lead: made with page/lead/mock/create so it arrives through TikTok's own
     * push. TikTok allows one test lead per form, so an earlier one is deleted first.
     * @see https://business-api.tiktok.com/portal/docs (Lead Generation: test lead)
     */
    async testLead(memberId: string, advertiserId: string, pageId: string): Promise<string> {
      const conn = await own(memberId, advertiserId)
      const form = await ctx.repo.findForm(advertiserId, pageId)
      if (!form) throw Errors.notFound('no such form in this ad account')
      const token = ctx.box.open(conn.token_sealed)
      const earlier = await ctx.api.getMockLead(token, advertiserId, pageId)
      if (earlier) await ctx.api.deleteMockLead(token, advertiserId, pageId, earlier.leadId)
      const { leadId } = await ctx.api.createMockLead(token, advertiserId, pageId)
      await ctx.repo.updateForm(advertiserId, pageId, {
        test_lead_id: leadId,
        test_lead_at: ctx.now(),
        updated_at: ctx.now(),
      })
      return leadId
    },

    /**
     * The question's field definition for crm.lead.userfield.add. TikTok's page/field/get gives
     * question names only (no type, no choices), so the admin says whether it is a list; a list's
     * items are the choices given, else the answers already seen for the question.
     * @see https://apidocs.bitrix24.com/api-reference/crm/leads/userfield/crm-lead-userfield-add.html
     */
    async fieldFor(
      memberId: string,
      advertiserId: string,
      pageId: string,
      question: string,
      kind: 'string' | 'enumeration',
      items: string[],
    ): Promise<{ fieldName: string; fields: Record<string, unknown> }> {
      await own(memberId, advertiserId)
      const form = await ctx.repo.findForm(advertiserId, pageId)
      const field = form && fieldsOf(form).find((f) => f.name === question)
      if (!field) throw Errors.notFound('this form has no such question')
      // Stable per question and short (names are at most 50 characters with the UF_CRM_ prefix).
      const code = `TT${createHash('sha256').update(question).digest('hex').slice(0, 8).toUpperCase()}`
      const choices =
        kind === 'enumeration'
          ? [
              ...new Set([...field.options, ...items, ...(items.length ? [] : await answersSeen(memberId, question))]),
            ].slice(0, 100)
          : []
      if (kind === 'enumeration' && choices.length === 0)
        throw Errors.badRequest(
          'a list field needs its items: no answers to this question have been seen yet, so give them',
        )
      const label = question.slice(0, 250)
      return {
        fieldName: `UF_CRM_${code}`,
        fields: {
          FIELD_NAME: code,
          USER_TYPE_ID: kind,
          LABEL: label,
          EDIT_FORM_LABEL: label,
          LIST_COLUMN_LABEL: label,
          LIST_FILTER_LABEL: label,
          ...(kind === 'enumeration' ? { LIST: choices.map((VALUE, i) => ({ VALUE, SORT: (i + 1) * 10 })) } : {}),
        },
      }
    },

    /** Run one backfill in the background (the admin's "import" and the opt-in import at connect). */
    backfillSoon(conn: TikTokConnection, sinceMs: number, pageId?: string): Promise<void> {
      const run = async () => {
        for (const form of await ctx.repo.listForms(conn.advertiser_id)) {
          if ((pageId && form.page_id !== pageId) || (!pageId && !isWanted(conn, form))) continue
          await backfillForm(ctx, conn, form, sinceMs)
        }
      }
      return run().catch((err) => ctx.log.warn({ err }, 'TikTok backfill failed'))
    },

    own,
  }
  return connector
}
