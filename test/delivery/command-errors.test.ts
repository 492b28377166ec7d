import t from 'tap'
import { installedPortal, startApp, startEmulator, waitFor } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'

/*
 * A transient error inside one command of a batch (halt=0: the others run): the emulator's
 * faults.failCommands makes two crm.lead.add commands of the first batch fail on their own (not
 * run, `code` in result_error). The rule takes the next matching commands, so they are the first
 * two of the batch (the proxy this replaces could pick the 2nd and 4th; which ones does not change
 * what is asserted). OPERATION_TIME_LIMIT waits for the operating_reset_at of the last success:
 * the emulator's baskets are scaled down (0.1 s, a 1 s window) so that reset is a second or two away.
 * @see https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html, https://apidocs.bitrix24.com/settings/performance/limits.html
 */
for (const code of ['QUERY_LIMIT_EXCEEDED', 'OPERATION_TIME_LIMIT', 'ERROR_CORE']) {
  t.test(
    `${code} inside one command: that lead is retried and delivered once, the others are not re-sent`,
    async (t) => {
      const emu = await startEmulator(t, { operating: { basketSec: 0.1 } })
      const { app, url } = await startApp(t, { emu, delivery: { operatingBasketMs: 500 } })
      const portal = await installedPortal(emu, url)
      const conf = (await app.settings.find(portal.memberId))!
      await app.settings.update(portal.memberId, { dedup_policy: 'off' })

      const leads = Array.from({ length: 6 }, () => sampleLead())
      emu.faults.failCommands(2, code, { method: 'crm.lead.add', memberId: portal.memberId })
      await postWebhook(url, conf.webhook_key, notificationBody(leads), { secret: conf.signing_secret })
      await waitFor('delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 6, 15_000)
      const adds = emu.calls.filter((c) => c.memberId === portal.memberId && c.method === 'crm.lead.add')
      t.equal(adds.filter((c) => c.error === code).length, 2, 'two commands got the error')
      t.equal(
        adds.filter((c) => c.status === 200).length,
        6,
        'four added once, the two retried added once: nothing re-sent',
      )
      t.equal(adds.length, 8, 'no add tried more often than that: six run, the two refused')
      t.same(
        [...portal.leads.values()].map((l) => String(l.ORIGIN_ID)).sort(),
        leads.map((l) => l.id).sort(),
        'each lead once',
      )
      t.equal((await app.leads.counts(portal.memberId)).failed, 0)
    },
  )
}
