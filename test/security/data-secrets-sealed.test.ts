/**
 * The portals' webhook signing secrets sat in `portal_settings` in clear: whoever read the database
 * file could sign leads for every customer. They are now sealed like the tokens; clear rows from
 * before are sealed at start, and a webhook signed with the secret the tab reveals still verifies.
 */
import t from 'tap'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { installedPortal, startApp, startEmulator, tempDbPath } from '../helpers.js'

const SEALED = /^v1\./

t.test('signing secrets are stored sealed, handed out opened, and verify webhooks', async (t) => {
  const emu = await startEmulator(t)
  const path = tempDbPath()
  const { app, url, database } = await startApp(t, { emu, config: { DATABASE_PATH: path } })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  const raw = database.sqlite
    .prepare('select signing_secret from portal_settings where member_id = ?')
    .get(portal.memberId) as { signing_secret: string }
  t.match(raw.signing_secret, SEALED, 'sealed in the table')
  t.not(raw.signing_secret, conf.signing_secret)
  await app.settings.update(portal.memberId, { verify_mode: 'enforce' })
  const res = await postWebhook(url, conf.webhook_key, notificationBody([sampleLead()]), {
    secret: conf.signing_secret,
  })
  t.equal(res.status, 200, 'the opened secret verifies in enforce mode')

  const rotated = await app.settings.rotateSecret(portal.memberId, 60_000)
  const after = database.sqlite
    .prepare('select signing_secret, previous_secret from portal_settings where member_id = ?')
    .get(portal.memberId) as { signing_secret: string; previous_secret: string }
  t.match(after.signing_secret, SEALED)
  t.match(after.previous_secret, SEALED, 'the rotated-out secret is sealed too')
  t.equal(rotated.previous_secret, conf.signing_secret)
})

t.test('a secret stored in clear before sealing is sealed at start and keeps working', async (t) => {
  const emu = await startEmulator(t)
  const path = tempDbPath()
  const first = await startApp(t, { emu, config: { DATABASE_PATH: path } })
  const portal = await installedPortal(emu, first.url)
  const clear = 'legacy-clear-secret-0123456789abcdef'
  first.database.sqlite
    .prepare('update portal_settings set signing_secret = ? where member_id = ?')
    .run(clear, portal.memberId)
  await first.app.close()

  const second = await startApp(t, { emu, config: { DATABASE_PATH: path } })
  const raw = second.database.sqlite
    .prepare('select signing_secret from portal_settings where member_id = ?')
    .get(portal.memberId) as { signing_secret: string }
  t.match(raw.signing_secret, SEALED, 'sealed at start')
  t.equal((await second.app.settings.find(portal.memberId))!.signing_secret, clear, 'the same secret')
})
