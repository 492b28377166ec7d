/**
 * Finding: "enforce" accepted a POST with no signature header, or a blank one. The route always
 * told verification that the URL key matched, and verification called a request without a header
 * valid (scheme url-key), so enforce refused only *wrong* signatures, never *missing* ones. Anyone
 * who knew the webhook URL (shown in the tab, logged by proxies) could post leads into an enforcing
 * portal. Now enforce passes only a verified TikTok-Signature or X-Open-Signature: 401, nothing stored.
 */
import t from 'tap'
import { installedPortal, startApp, startEmulator } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'

t.test('enforce mode refuses a request without a verified signature header; log-only still accepts it', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu, autoStartDelivery: false })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  await app.settings.update(portal.memberId, { verify_mode: 'enforce' })
  const stored = async () => (await app.leads.latest(portal.memberId, { limit: 100 })).length

  const unsigned: Array<[string, Record<string, string>]> = [
    ['no signature header', {}],
    ['blank TikTok-Signature', { 'TikTok-Signature': '' }],
    ['whitespace TikTok-Signature', { 'TikTok-Signature': '   ' }],
    ['blank X-Open-Signature', { 'X-Open-Signature': '' }],
    ['both blank', { 'TikTok-Signature': ' ', 'X-Open-Signature': ' ' }],
  ]
  for (const [name, header] of unsigned) {
    const res = await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), { header })
    t.equal(res.status, 401, name)
    t.match(await res.json(), { error: 'APP_ERR_UNAUTHORIZED', message: /enforce mode accepts only/ }, name)
  }
  t.equal(await stored(), 0, 'nothing stored')
  t.match((await app.settings.find(portal.memberId))!.last_verify_detail, /no signature header/, 'the tab is told why')

  const signed = await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), {
    secret: conf.signing_secret,
  })
  t.equal(signed.status, 200, 'a verified signature passes')
  t.equal(await stored(), 1)

  await app.settings.update(portal.memberId, { verify_mode: 'log_only' })
  const logOnly = await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), null)
  t.equal(logOnly.status, 200, 'log-only keeps accepting on the URL key')
  const rows = await app.leads.latest(portal.memberId, { limit: 1 })
  t.match(rows[0], { verify_scheme: 'url-key', verify_valid: 1 }, 'and records it as before')
})
