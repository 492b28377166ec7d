import t from 'tap'
import { api, installedPortal, openTab, startApp, startEmulator, waitFor } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'

/*
 * The first lead batch refused the way Bitrix24 refuses it past the operating limit: every
 * command's result_error is OPERATION_TIME_LIMIT and nothing is created (the emulator's
 * faults.failCommands on crm.lead.add). No command succeeded, so no reset time is known: the app
 * holds the method for a basket (operatingBasketMs) and then sends again.
 * @see https://apidocs.bitrix24.com/settings/performance/limits.html "Resource Intensity Limits"
 */
t.test(
  'OPERATION_TIME_LIMIT on the commands: the method is held (no batch meanwhile), the tab says so, leads go once, no attempt counted',
  async (t) => {
    const emu = await startEmulator(t)
    const { app, url } = await startApp(t, { emu, delivery: { operatingBasketMs: 1500 } })
    const portal = await installedPortal(emu, url)
    const conf = (await app.settings.find(portal.memberId))!
    await app.settings.update(portal.memberId, { dedup_policy: 'off' })
    const page = await openTab(url, portal)

    const leads = Array.from({ length: 5 }, () => sampleLead())
    emu.faults.failCommands(leads.length, 'OPERATION_TIME_LIMIT', { method: 'crm.lead.add', memberId: portal.memberId })
    await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
    const limit = await waitFor('held', () => app.dispatcher.limitOf(portal.memberId))
    const state = (await (await api(url, page).get('state')).json()) as { problems: string[] }
    t.ok(
      state.problems.some(
        (p) => /Bitrix24 is limiting this app: sending resumes at \d\d:\d\d/.test(p) && /5 lead/.test(p),
      ),
      `the tab says so: ${state.problems.join(' | ')}`,
    )
    await waitFor('delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 5, 15_000)

    const mine = emu.calls.filter((c) => c.memberId === portal.memberId)
    const refusedAdds = mine.filter((c) => c.method === 'crm.lead.add' && c.error === 'OPERATION_TIME_LIMIT')
    t.equal(refusedAdds.length, 5, 'every command of the first batch refused')
    t.equal(emu.counters.operatingRefused, 5, 'and nothing else refused')
    // The batch that carried them: the last batch request before the first refused command.
    const batches = mine.filter((c) => c.method === 'batch')
    const refusedAt = batches.filter((b) => b.at <= refusedAdds[0]!.at).pop()!.at
    t.equal(
      batches.filter((b) => b.at <= refusedAdds[refusedAdds.length - 1]!.at && b.at >= refusedAt).length,
      1,
      'refused once: all five in one batch',
    )
    const during = batches.filter((b) => b.at > refusedAt && b.at < limit.until - 50)
    t.same(during, [], 'no lead batch sent while the method was held')
    t.same(
      [...portal.leads.values()].map((l) => String(l.ORIGIN_ID)).sort(),
      leads.map((l) => l.id).sort(),
      'each lead once',
    )
    for (const l of leads)
      t.equal(
        (await app.leads.findByTikTokId(portal.memberId, l.id))!.attempts,
        1,
        'the refused try is not counted as an attempt',
      )
  },
)
