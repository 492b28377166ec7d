/**
 * Twenty forged AUTH_ID posts to /bitrix24/placement (member ids were public in /metrics) delayed
 * that portal's next lead from 0.03 s to 9.8 s: each one spent a `profile` call from the portal's
 * 2 requests/s budget, ahead of deliveries, and refusals were not cached. Verification now has its
 * own small share of the budget (beyond it: 429 and no call), refusals are cached by token hash,
 * and page POSTs are limited per client address. Bounds are counted in REST calls, not wall time.
 */
import t from 'tap'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { installedPortal, openTab, startApp, startEmulator, waitFor } from '../helpers.js'

const forge = (url: string, memberId: string, authId: string) =>
  fetch(`${url}/bitrix24/placement`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ AUTH_ID: authId, member_id: memberId, PLACEMENT: 'CRM_LEAD_LIST_MENU' }),
  })

t.test(
  'twenty forged AUTH_IDs cost at most the verification share; a lead sent meanwhile is not held up',
  async (t) => {
    const emu = await startEmulator(t)
    const { app, url } = await startApp(t, { emu })
    const portal = await installedPortal(emu, url)
    const conf = (await app.settings.find(portal.memberId))!
    await new Promise((r) => setTimeout(r, 2500)) // the install's calls leave the portal's window

    const calls0 = emu.counters.restRequests
    const lead = sampleLead()
    const [answers] = await Promise.all([
      Promise.all(
        Array.from({ length: 20 }, (_, i) => forge(url, portal.memberId, `forged-${i}`).then((r) => r.status)),
      ),
      postWebhook(url, conf.webhook_key, notificationBody([lead]), { secret: conf.signing_secret }),
    ])
    const verificationCalls = emu.counters.restRequests - calls0
    t.ok(
      verificationCalls <= 4,
      `at most the burst of verification calls plus one delivery batch reached Bitrix24 (${verificationCalls})`,
    )
    t.ok(answers.filter((s) => s === 429).length >= 16, 'the rest were answered 429 with no call')
    t.ok(
      answers.every((s) => s === 401 || s === 429),
      'none was let in',
    )

    await waitFor(
      'lead delivered',
      async () => (await app.leads.findByTikTokId(portal.memberId, lead.id))?.status === 'delivered',
    )
    t.ok(
      emu.calls.some((c) => c.method === 'batch' && JSON.stringify(c.params).includes('crm.lead.add')),
      'the lead went out in a batch',
    )
    t.ok(
      emu.counters.restRequests - calls0 <= 4,
      'the whole episode cost at most 3 verification calls and the delivery',
    )

    // A refused token is remembered: asking again costs no call (not even after the budget refills).
    await new Promise((r) => setTimeout(r, 2100))
    const calls1 = emu.counters.restRequests
    t.equal((await forge(url, portal.memberId, 'forged-0')).status, 401)
    t.equal(emu.counters.restRequests, calls1, 'a cached refusal makes no REST call')

    // Real users still get in once the share refills.
    await new Promise((r) => setTimeout(r, 2100))
    t.equal((await openTab(url, portal)).status, 200)
  },
)

t.test('page POSTs are limited per client address', async (t) => {
  const emu = await startEmulator(t)
  const { url } = await startApp(t, { emu })
  const statuses: number[] = []
  for (let i = 0; i < 65; i++) statuses.push((await forge(url, 'nobody', `x${i}`)).status)
  t.ok(
    statuses.slice(0, 60).every((s) => s === 401),
    'the first 60 in a minute are looked at',
  )
  t.ok(
    statuses.slice(60).every((s) => s === 429),
    'then 429',
  )
  t.equal(emu.counters.restRequests, 0, 'an unknown member never costs a REST call')
})
