/**
 * Finding: X-Open-Signature signs the body only, with no time, so a captured request verifies
 * forever and can be replayed; the settings tab said just "X-Open-Signature valid". The stored
 * verification detail (what the tab shows as the last request's verification) now says the
 * scheme is replayable and that TikTok-Signature (timed, ±300 s) is preferred.
 */
import t from 'tap'
import { installedPortal, startApp, startEmulator } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { signXOpenSignature } from '../../src/tiktok/verify.js'

t.test('a request verified by X-Open-Signature is recorded as replayable; TikTok-Signature is not', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu, autoStartDelivery: false })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  await app.settings.update(portal.memberId, { verify_mode: 'enforce' })

  const body = notificationBody([sampleLead()])
  const res = await postWebhook(url, conf.webhook_key, body, {
    header: { 'X-Open-Signature': signXOpenSignature(conf.signing_secret, body) },
  })
  t.equal(res.status, 200)
  const after = (await app.settings.find(portal.memberId))!
  t.equal(after.last_verify_scheme, 'x-open-signature')
  t.match(after.last_verify_detail, /^X-Open-Signature valid \(no timestamp: replayable; prefer TikTok-Signature\)$/)

  // The same captured request, replayed: it still verifies (that is the point of the warning), and
  // the TikTok lead id keeps it from being stored twice.
  const replay = await postWebhook(url, conf.webhook_key, body, {
    header: { 'X-Open-Signature': signXOpenSignature(conf.signing_secret, body) },
  })
  t.match(await replay.json(), { stored: 0, duplicates: 1 })

  const timed = await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), {
    secret: conf.signing_secret,
  })
  t.equal(timed.status, 200)
  const last = (await app.settings.find(portal.memberId))!
  t.equal(last.last_verify_scheme, 'tiktok-signature')
  t.notMatch(last.last_verify_detail, /replayable/)
})
