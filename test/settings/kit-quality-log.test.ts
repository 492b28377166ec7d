/**
 * The delivery log shows what went back to TikTok for a lead (issue 10, the lead-quality loop):
 * a lead from TikTok moved in the emulated portal, its CRM event taken by the emulated Events API,
 * then the kit tab's log in chromium says "sent to TikTok: Contacted, <time>" on that lead's row.
 */
import t from 'tap'
import { STRINGS } from '../../src/settings/i18n.js'
import { startFrameHost } from '../emulator/index.js'
import { waitFor } from '../helpers.js'
import { deliveredLead, moveAndCollect, qualityWorld, tracked } from '../quality/world.js'
import { launch, openTab, watchErrors } from './browser-harness.js'

const WAIT = 15_000

t.test("the log says which events went back to TikTok for a lead's stage changes", async (t) => {
  const w = await qualityWorld(t)
  const chosen = await w.tab.post('quality', { advertiserId: w.adv.id, eventSetId: w.eventSetId, stageMap: {} })
  t.equal(chosen.status, 200, 'the event set chosen')
  const { b24Id, rowId } = await deliveredLead(w)
  await moveAndCollect(w, w.portal, b24Id, 'IN_PROCESS')
  await waitFor('Contacted at TikTok', () => tracked(w).events.length === 1)
  await waitFor('marked sent', async () => {
    const rows = await w.started.app.db.selectFrom('tiktok_event_outbox').select('status').execute()
    return rows.length === 1 && rows[0]?.status === 'sent'
  })

  const host = await startFrameHost({ emulator: w.emu, portal: w.portal, appUrl: w.started.url })
  t.teardown(() => host.close())
  const context = await launch(t)
  for (const lang of ['en', 'vn'] as const) {
    const words = STRINGS[lang]
    const page = await context.newPage()
    const errors: string[] = []
    watchErrors(page, errors, lang)
    const frame = await openTab(page, `${host.url}?lang=${lang}&user=1&width=1280`)
    await frame.getByRole('tab', { name: words.h_log }).click()
    const row = frame.locator('[data-testid="log-table"] tbody tr').filter({
      has: frame.locator(`[data-lead-id="${rowId}"]`),
    })
    const line = row.locator('[data-testid="tt-event"]')
    await line.waitFor({ timeout: WAIT })
    t.equal(await line.getAttribute('data-status'), 'sent', `${lang}: the event is marked sent`)
    const [before] = words.log_tt_event_sent.replace('{event}', 'Contacted').split('{time}')
    t.match((await line.textContent()) ?? '', before!, `${lang}: in plain words, with the event's name`)
    t.same(errors, [], `${lang}: no script error or CSP violation`)
    await page.close()
  }
})
