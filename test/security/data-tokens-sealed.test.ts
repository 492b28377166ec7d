/**
 * Bitrix24 tokens were stored in clear: access_token, refresh_token and application_token sat in
 * the `portals` table as Bitrix24 sent them, so anyone who read the database file (a backup, a
 * copied volume) could call every customer's portal. They are now sealed with the app's
 * AES-256-GCM secret box; clear rows from before are sealed at start, values sealed with an old
 * key are re-sealed with the current one when read, and the refresh compare-and-set and the
 * application_token check still work on sealed values.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync, existsSync } from 'node:fs'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { installedPortal, phpForm, startApp, startEmulator, tempDbPath, testConfig } from '../helpers.js'

const key = (id: string) => `${id}:${randomBytes(32).toString('base64url')}`
const SEALED = /^v1\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]*$/

function fileBytes(path: string): string {
  return [path, `${path}-wal`]
    .filter(existsSync)
    .map((f) => readFileSync(f).toString('latin1'))
    .join('')
}

t.test('tokens are stored sealed, never in clear, and handed out opened', async (t) => {
  const emu = await startEmulator(t)
  const path = tempDbPath()
  const { app, url } = await startApp(t, { emu, config: { DATABASE_PATH: path } })
  const portal = await installedPortal(emu, url)
  const opened = (await app.portals.find(portal.memberId))!
  const raw = (await app.db
    .selectFrom('portals')
    .selectAll()
    .where('member_id', '=', portal.memberId)
    .executeTakeFirst())!
  for (const c of ['access_token', 'refresh_token', 'application_token'] as const) {
    t.ok(opened[c], `${c} is there`)
    t.match(raw[c], SEALED, `${c} is sealed in the table`)
    t.not(raw[c], opened[c])
    t.notOk(fileBytes(path).includes(opened[c]!), `${c} is nowhere in the database file`)
  }
  t.ok(await app.portals.applicationTokenMatches(portal.memberId, opened.application_token!))
  t.notOk(await app.portals.applicationTokenMatches(portal.memberId, 'forged'))
  t.notOk(
    await app.portals.applicationTokenMatches(portal.memberId, raw.application_token!),
    'the sealed value itself is not the token',
  )

  // A refresh spends the refresh token with a compare-and-set on the sealed value.
  emu.faults.expireAllTokens()
  await app.b24.forPortal(portal.memberId).call('profile')
  const after = (await app.portals.find(portal.memberId))!
  t.not(after.refresh_token, opened.refresh_token, 'refreshed tokens stored')
  const rawAfter = (await app.db
    .selectFrom('portals')
    .select('refresh_token')
    .where('member_id', '=', portal.memberId)
    .executeTakeFirst())!
  t.match(rawAfter.refresh_token, SEALED)
  // A late writer that spent the old refresh token cannot roll the portal back.
  t.notOk(
    await app.portals.saveRefreshedTokens(portal.memberId, opened.refresh_token!, {
      access_token: 'late-a',
      refresh_token: 'late-r',
      expires_at: 1,
    }),
  )
  t.ok(
    await app.portals.saveRefreshedTokens(portal.memberId, after.refresh_token!, {
      access_token: 'new-a',
      refresh_token: 'new-r',
      expires_at: 2,
    }),
  )
  t.equal((await app.portals.find(portal.memberId))!.refresh_token, 'new-r')

  // Events still authenticate through the sealed application_token.
  const event = (token: string) =>
    app.inject({
      method: 'POST',
      url: '/bitrix24/events',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: phpForm({
        event: 'ONCRMLEADUPDATE',
        data: { FIELDS: { ID: 1 } },
        auth: { member_id: portal.memberId, application_token: token, domain: 'x' },
      }),
    })
  t.equal((await event(opened.application_token!)).statusCode, 200)
  t.equal((await event(raw.application_token!)).statusCode, 401)
})

t.test('clear tokens from before are sealed at start; a rotated key re-seals on read', async (t) => {
  const path = tempDbPath()
  const oldKey = key('old')
  const newKey = key('new')
  const database = openDatabase(path)
  await migrateToLatest(database.db)
  await database.db
    .insertInto('portals')
    .values({
      member_id: 'legacy',
      domain: 'l.bitrix24.com',
      client_endpoint: 'https://l.bitrix24.com/rest/',
      server_endpoint: 'https://oauth.bitrix.info/rest/',
      access_token: 'clear-access-0123',
      refresh_token: 'clear-refresh-0123',
      expires_at: 0,
      scope: 'crm',
      app_status: 'L',
      lang: 'en',
      installer_user_id: 1,
      application_token: 'clear-app-token-0123',
      state: 'active',
      state_reason: null,
      installed_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:00.000Z',
      uninstalled_at: null,
    })
    .execute()

  const first = await buildApp({
    config: testConfig(null, { DATABASE_PATH: path, SECRETS_KEY: oldKey }),
    database,
    logger: false,
    autoStartDelivery: false,
    tiktok: { schedule: false },
    retention: { schedule: false },
  })
  await first.ready()
  const raw = (await first.db.selectFrom('portals').selectAll().executeTakeFirst())!
  for (const c of ['access_token', 'refresh_token', 'application_token'] as const)
    t.match(raw[c], /^v1\.old\./, `${c} sealed at start with the current key`)
  t.equal((await first.portals.find('legacy'))!.refresh_token, 'clear-refresh-0123')
  t.ok(await first.portals.applicationTokenMatches('legacy', 'clear-app-token-0123'))
  await first.close()
  t.notOk(fileBytes(path).includes('clear-refresh-0123'), 'no clear token left in the file')

  // Rotation: the new key first, the old one kept to open what it sealed.
  const database2 = openDatabase(path)
  const second = await buildApp({
    config: testConfig(null, { DATABASE_PATH: path, SECRETS_KEY: `${newKey},${oldKey}` }),
    database: database2,
    logger: false,
    autoStartDelivery: false,
    tiktok: { schedule: false },
    retention: { schedule: false },
  })
  t.teardown(() => second.close())
  await second.ready()
  t.equal((await second.portals.find('legacy'))!.access_token, 'clear-access-0123')
  const rotated = (await second.db.selectFrom('portals').selectAll().executeTakeFirst())!
  for (const c of ['access_token', 'refresh_token', 'application_token'] as const)
    t.match(rotated[c], /^v1\.new\./, `${c} re-sealed with the new key`)
  t.equal(second.secretBox, second.tiktok.box, 'one box for Bitrix24 and TikTok tokens')
})
