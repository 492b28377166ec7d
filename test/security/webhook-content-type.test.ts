/**
 * Finding: the webhook parsed any body as JSON, whatever its content type: text/plain, form and
 * XML requests were taken as leads (a browser can send text/plain and form posts cross-site with
 * no preflight). Now only application/json and application/*+json (charset UTF-8 allowed) are
 * accepted; anything else, or no content type, answers 415 APP_ERR_UNSUPPORTED_MEDIA_TYPE.
 */
import t from 'tap'
import { installedPortal, startApp, startEmulator } from '../helpers.js'
import { notificationBody, sampleLead } from '../fixtures.js'
import { signTikTokSignature } from '../../src/tiktok/verify.js'

t.test('only JSON content types are parsed; the rest is 415 and stores nothing', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu, autoStartDelivery: false })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!

  const post = (contentType: string | null) => {
    const body = notificationBody([sampleLead()])
    const headers: Record<string, string> = {
      'TikTok-Signature': signTikTokSignature(conf.signing_secret, body, Math.floor(Date.now() / 1000)),
    }
    if (contentType !== null) headers['content-type'] = contentType
    // A Uint8Array body makes fetch send no content type of its own.
    return fetch(`${url}/tiktok/webhook/${conf.webhook_key}`, {
      method: 'POST',
      headers,
      body: new TextEncoder().encode(body),
    })
  }

  for (const type of [
    'text/plain',
    'text/plain;charset=UTF-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'text/xml',
    'text/json',
    'application/jsonp',
    'application/json; charset=iso-8859-1',
    null,
  ]) {
    const res = await post(type)
    t.equal(res.status, 415, String(type))
    t.match(await res.json(), { error: 'APP_ERR_UNSUPPORTED_MEDIA_TYPE' }, String(type))
  }
  t.same(await app.leads.latest(portal.memberId, { limit: 10 }), [], 'nothing stored')

  for (const type of [
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON;charset="UTF-8"',
    'application/vnd.api+json',
  ]) {
    t.equal((await post(type)).status, 200, type)
  }
  t.equal((await app.leads.latest(portal.memberId, { limit: 10 })).length, 4)
})
