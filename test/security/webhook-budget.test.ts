/**
 * Finding: a webhook URL had no limit at all, so one leaked URL (log-only mode takes it as the only
 * credential) could post leads until the disk was full. Each webhook key now has a budget of
 * requests and body bytes per minute (WEBHOOK_MAX_REQUESTS_PER_MIN, WEBHOOK_MAX_BYTES_PER_MIN;
 * 600 and 20 MB by default); beyond it the answer is 429 with Retry-After and nothing is stored.
 * Unknown keys never cost a portal anything, and one portal's flood leaves the others alone.
 */
import t from 'tap'
import { installedPortal, startApp, startEmulator } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'

t.test('requests beyond the per-key budget are 429; unknown keys and other portals are not charged', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu, autoStartDelivery: false, config: { WEBHOOK_MAX_REQUESTS_PER_MIN: 5 } })
  const a = await installedPortal(emu, url)
  const b = await installedPortal(emu, url)
  const confA = (await app.settings.find(a.memberId))!
  const confB = (await app.settings.find(b.memberId))!

  for (let i = 0; i < 20; i++) {
    const guess = `${confA.webhook_key.slice(0, -1)}${i % 10}`
    t.equal(
      (
        await postWebhook(
          url,
          guess === confA.webhook_key ? 'y'.repeat(43) : guess,
          notificationBody([sampleLead()]),
          null,
        )
      ).status,
      404,
    )
  }
  for (let i = 0; i < 5; i++)
    t.equal(
      (await postWebhook(url, confA.webhook_key, notificationBody([sampleLead()]), { secret: confA.signing_secret }))
        .status,
      200,
      `request ${i + 1} of 5`,
    )
  const over = await postWebhook(url, confA.webhook_key, notificationBody([sampleLead()]), {
    secret: confA.signing_secret,
  })
  t.equal(over.status, 429)
  t.match(await over.json(), { error: 'APP_ERR_WEBHOOK_BUDGET_EXCEEDED' })
  t.ok(Number(over.headers.get('retry-after')) >= 1, 'Retry-After says when')
  t.equal((await app.leads.latest(a.memberId, { limit: 100 })).length, 5, 'nothing stored beyond the budget')
  t.equal(
    (await postWebhook(url, confB.webhook_key, notificationBody([sampleLead()]), { secret: confB.signing_secret }))
      .status,
    200,
    'another portal is not affected',
  )
})

t.test('bytes beyond the per-key budget are 429 too', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu, autoStartDelivery: false, config: { WEBHOOK_MAX_BYTES_PER_MIN: 4096 } })
  const a = await installedPortal(emu, url)
  const confA = (await app.settings.find(a.memberId))!
  const big = () => notificationBody([sampleLead({ extra: { notes: 'n'.repeat(1200) } })])
  t.equal((await postWebhook(url, confA.webhook_key, big(), { secret: confA.signing_secret })).status, 200)
  t.equal((await postWebhook(url, confA.webhook_key, big(), { secret: confA.signing_secret })).status, 200)
  const over = await postWebhook(url, confA.webhook_key, big(), { secret: confA.signing_secret })
  t.equal(over.status, 429)
  t.match(await over.json(), { error: 'APP_ERR_WEBHOOK_BUDGET_EXCEEDED', message: /4096 bytes per minute/ })
  t.equal((await app.leads.latest(a.memberId, { limit: 100 })).length, 2)
})
