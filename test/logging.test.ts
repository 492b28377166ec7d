import t from 'tap'
import { safeUrl } from '../src/logger.js'
import { installedPortal, logCapture, startApp, startEmulator } from './helpers.js'

t.test('no token or secret reaches the logs through install, refresh, events and webhooks', async (t) => {
  const emu = await startEmulator(t)
  const logs = logCapture()
  const { app, url } = await startApp(t, { emu, logs: logs.stream })
  const portal = await installedPortal(emu, url)
  emu.faults.expireAllTokens()
  await app.b24.forPortal(portal.memberId).call('app.info')
  await emu.deliverEvent(portal, 'ONCRMLEADUPDATE', { FIELDS: { ID: 1 } })
  const settings = await app.settings.find(portal.memberId)
  await fetch(`${url}/tiktok/webhook/${settings!.webhook_key}`, { method: 'POST', body: '{}' })
  const row = await app.portals.find(portal.memberId)
  const secrets = [
    row!.access_token!,
    row!.refresh_token!,
    portal.applicationToken!,
    settings!.webhook_key,
    settings!.signing_secret,
    'test-secret-0123456789',
  ]
  const all = logs.lines.join('')
  t.ok(logs.lines.length > 5, 'something was logged')
  for (const s of secrets) t.notOk(all.includes(s), `secret not in logs: ${s.slice(0, 4)}…`)
})

t.test('safeUrl hides webhook keys and token query values', async (t) => {
  t.equal(safeUrl('/tiktok/webhook/abcdef0123456789?x=1'), '/tiktok/webhook/[REDACTED]?x=1')
  t.equal(safeUrl('/rest/app.info?auth=tok&x=1'), '/rest/app.info?auth=[REDACTED]&x=1')
})
