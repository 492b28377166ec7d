/**
 * The card tab in chromium (issue 10: a lead card tab shows that lead's TikTok story), framed by
 * the emulated Bitrix24 page the way a lead card frames its tab (CRM_LEAD_DETAIL_TAB,
 * PLACEMENT_OPTIONS {"ID": "<id>"}): in English, Russian and Vietnamese the tab shows the lead's
 * form and ad, its answers, its delivery, the event sent back to TikTok and, behind a disclosure,
 * the payload; a manager sees the masked story and why; a lead not from TikTok gets the plain
 * line. Every page fails on a script error or CSP violation and on any serious or critical axe
 * violation (as kit-a11y does), and the narrow card never scrolls sideways. Screenshots go to
 * test-output/kit-card-*.png.
 * @see b24restdocs api-reference/widgets/crm/detail-tab.md
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Frame, Page } from 'playwright-core'
import t from 'tap'
import { type Lang, STRINGS } from '../../src/settings/i18n.js'
import { detailTabCode, detailTabOptions, startFrameHost } from '../emulator/index.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { installedPortal, startApp, startEmulator, waitFor } from '../helpers.js'
import { axe } from './axe.js'
import { launch, OUT, openTab, screenshot, watchErrors } from './browser-harness.js'

const WAIT = 20_000

async function appFrame(page: Page): Promise<Frame> {
  return waitFor('the app frame', () => page.frames().find((f) => f.url().includes('/bitrix24/placement')) ?? null)
}

t.test(
  'the card tab in en, ru and vn: the story, masked for a manager, the plain state; axe and CSP clean',
  async (t) => {
    const emu = await startEmulator(t)
    const { app, url: appUrl } = await startApp(t, { emu })
    const portal = await installedPortal(emu, appUrl)
    const m = portal.memberId
    const conf = (await app.settings.find(m))!
    const sample = sampleLead({ extra: { 'Which service?': 'Massage' } })
    await postWebhook(appUrl, conf.webhook_key, notificationBody([sample]), { secret: conf.signing_secret })
    const row = await waitFor(
      'the lead delivered',
      async () => {
        const r = await app.leads.findByTikTokId(m, sample.id)
        return r?.status === 'delivered' && r.b24_lead_id ? r : null
      },
      WAIT,
    )
    // What the lead-quality loop leaves once TikTok took a Contacted (its own tests drive it for real).
    const now = Date.now()
    await app.db
      .insertInto('tiktok_event_outbox')
      .values({
        member_id: m,
        lead_id: row.id,
        advertiser_id: '7100000000000000002',
        event_set_id: 'es-card',
        event: 'Contacted',
        event_id: `${sample.id}-Contacted`,
        event_time: Math.floor(now / 1000),
        status: 'sent',
        next_attempt_at: now,
        last_error: null,
        created_at: now,
        sent_at: now,
      })
      .execute()
    const own = await fetch(`${portal.clientEndpoint}crm.lead.add.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fields: { TITLE: 'Walk-in' }, auth: portal.issueToken(1).access_token }),
    })
    const ownId = Number(((await own.json()) as { result: number }).result)

    const context = await launch(t)
    mkdirSync(OUT, { recursive: true })
    const code = detailTabCode('lead')

    // The delivered TikTok lead's card.
    let host = await startFrameHost({
      emulator: emu,
      portal,
      appUrl,
      placement: code,
      placementOptions: detailTabOptions('lead', row.b24_lead_id!),
    })
    for (const [lang, user, width] of [
      ['en', 1, 1100],
      ['ru', 1, 620],
      ['vn', 1, 620],
      ['en', 2, 1100],
    ] as const) {
      const words = STRINGS[lang as Lang]
      const who = `${lang}/${user === 1 ? 'admin' : 'manager'}/${width}`
      const page = await context.newPage()
      const errors: string[] = []
      watchErrors(page, errors, who)
      const tab = await openTab(page, `${host.url}?lang=${lang}&user=${user}&width=${width}`)
      const frame = await appFrame(page)
      const lead = tab.locator('[data-testid="card-lead"]')
      await lead.waitFor({ timeout: WAIT })
      t.equal(await lead.getAttribute('data-status'), 'delivered', `${who}: the lead's delivery status`)
      t.equal(await tab.locator('[data-testid="card-title"]').textContent(), words.card_title, `${who}: in ${lang}`)
      for (const heading of [words.card_h_source, words.card_h_answers, words.card_h_delivery, words.card_h_events])
        t.ok(await tab.getByRole('heading', { name: heading }).isVisible(), `${who}: the "${heading}" section`)
      const source = tab.locator('[data-testid="card-source"]')
      t.match(await source.locator('[data-k="form"]').textContent(), 'Spring promo form', `${who}: the form`)
      t.match(
        await source.locator('[data-k="ad"]').textContent(),
        /Video A.*1790000000000000005/,
        `${who}: the ad and its id`,
      )
      t.match(await source.locator('[data-k="campaign"]').textContent(), 'Spring campaign', `${who}: the campaign`)
      const answer = tab.locator('[data-answer="Which service?"]')
      const event = tab.locator('[data-testid="card-event"]')
      t.equal(await event.getAttribute('data-status'), 'sent', `${who}: the event sent back`)
      const [sentBefore] = words.log_tt_event_sent.replace('{event}', 'Contacted').split('{time}')
      t.match(await event.textContent(), sentBefore!, `${who}: in plain words`)
      t.match(
        await tab.locator('[data-testid="card-delivery"] [data-k="status"]').textContent(),
        words.status_delivered,
        `${who}: delivered, in words`,
      )
      if (user === 1) {
        t.equal(await answer.textContent(), 'Massage', `${who}: the answer as the lead carried it`)
        t.notOk(await tab.locator('[data-testid="card-masked"]').count(), `${who}: nothing masked for an administrator`)
        // The payload, behind its disclosure (a keyboard user opens it with Enter).
        const summary = tab.locator('[data-testid="card-raw"] summary')
        await summary.focus()
        await page.keyboard.press('Enter')
        await tab.locator('[data-testid="card-raw-json"]').waitFor({ timeout: WAIT })
        t.match(
          await tab.locator('[data-testid="card-raw-json"]').textContent(),
          `"${sample.id}"`,
          `${who}: the payload, ids exact`,
        )
      } else {
        t.match(await answer.textContent(), /^M•+$/, `${who}: the answer masked`)
        t.equal(
          await tab.locator('[data-testid="card-masked"]').textContent(),
          words.card_masked,
          `${who}: and says why`,
        )
      }
      const shot = `kit-card-${lang}-${user}-${width}`
      t.same(await axe(frame, join(OUT, `${shot}.json`)), [], `${who}: no serious or critical axe violation`)
      if (width <= 620) {
        const { scroll, client } = await frame.evaluate(() => ({
          scroll: document.scrollingElement!.scrollWidth,
          client: document.scrollingElement!.clientWidth,
        }))
        t.ok(scroll <= client + 1, `${who}: no horizontal scrollbar (${scroll} <= ${client})`)
      }
      await screenshot(page, frame, shot)
      t.same(errors, [], `${who}: no script error or CSP violation`)
      await page.close()
    }
    await host.close()

    // A lead made in Bitrix24 by hand: the plain line.
    host = await startFrameHost({
      emulator: emu,
      portal,
      appUrl,
      placement: code,
      placementOptions: detailTabOptions('lead', ownId),
    })
    t.teardown(() => host.close())
    for (const lang of ['en', 'ru', 'vn'] as const) {
      const words = STRINGS[lang]
      const page = await context.newPage()
      const errors: string[] = []
      watchErrors(page, errors, `${lang}/plain`)
      const tab = await openTab(page, `${host.url}?lang=${lang}&user=1&width=940`)
      const frame = await appFrame(page)
      const none = tab.locator('[data-testid="card-none"]')
      await none.waitFor({ timeout: WAIT })
      t.match(await none.textContent(), words.card_not_tiktok_lead, `${lang}: "this lead did not come from TikTok"`)
      t.equal(await tab.locator('[data-testid="card-lead"]').count(), 0, `${lang}: and no story`)
      t.same(
        await axe(frame, join(OUT, `kit-card-${lang}-plain.json`)),
        [],
        `${lang} plain: no serious or critical axe violation`,
      )
      await screenshot(page, frame, `kit-card-${lang}-plain`)
      t.same(errors, [], `${lang} plain: no script error or CSP violation`)
      await page.close()
    }
  },
)
