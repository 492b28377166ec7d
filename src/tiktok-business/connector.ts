import type { TikTokConnection } from '../db/schema.js'
import { Errors } from '../errors.js'
import { createAuthorisation, type GrantedAdvertiser } from './authorisation.js'
import { backfillForm } from './backfill.js'
import { DAY_MS, type TikTokContext } from './context.js'
import { isWanted, refreshForms } from './forms.js'
import { fieldFor } from './question-field.js'
import { drainUnsubscribes, liveSubscriptionIds, syncSubscriptions } from './subscriptions.js'

export type TikTokConnector = ReturnType<typeof createTikTokConnector>

/**
 * "Connect TikTok" (authorisation.ts) and what an admin does with a connection afterwards.
 * @see https://business-api.tiktok.com/portal/docs (advertiser authorisation; Lead Generation subscriptions, test leads)
 */
export function createTikTokConnector(
  ctx: TikTokContext,
  opts: { appId: string; authUrl: string; stateSecret: string },
) {
  const authorisation = createAuthorisation(ctx, opts)

  async function own(memberId: string, advertiserId: string): Promise<TikTokConnection> {
    const conn = await ctx.repo.findConnection(advertiserId)
    // Another portal's ad account looks exactly like a missing one.
    if (!conn || conn.member_id !== memberId) throw Errors.notFound('this ad account is not connected to this portal')
    return conn
  }

  /** Drain the cancel outbox now, without making the admin wait for TikTok. */
  function drainSoon(): void {
    void drainUnsubscribes(ctx).catch((err) =>
      ctx.log.warn({ err }, 'cancelling TikTok subscriptions failed; retried later'),
    )
  }

  const connector = {
    ...authorisation,

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
      const now = ctx.clock.now()
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
            updated_at: ctx.clock.now(),
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
      const now = ctx.clock.now()
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
        await ctx.repo.updateConnection(conn.advertiser_id, { callback_url: url, updated_at: ctx.clock.now() })
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
            updated_at: ctx.clock.now(),
          })
        }
      }
      const grant = await ctx.repo.findGrant(memberId, ctx.clock.now())
      if (grant) await ctx.repo.saveGrant({ ...grant, callback_url: url })
      drainSoon()
    },

    /** Unsubscribe (through the outbox) and forget the token. */
    async disconnect(memberId: string, advertiserId: string): Promise<void> {
      await own(memberId, advertiserId)
      await ctx.repo.forgetConnection(advertiserId, ctx.clock.now())
      ctx.log.info({ memberId, advertiserId }, 'TikTok ad account disconnected')
      drainSoon()
    },

    /** Uninstall (with or without CLEAN): every connection of the portal goes, subscriptions are cancelled. */
    async forgetPortal(memberId: string): Promise<void> {
      await ctx.repo.forgetPortal(memberId, ctx.clock.now())
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
        test_lead_at: ctx.clock.now(),
        updated_at: ctx.clock.now(),
      })
      return leadId
    },

    /**
     * The question's field definition for crm.lead.userfield.add (question-field.ts), for one of the
     * portal's own ad accounts.
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
      return fieldFor(ctx, memberId, advertiserId, pageId, question, kind, items)
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
