import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openDatabase } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrate.js'
import { signTikTokSignature } from '../src/tiktok/verify.js'
import { tempDbPath } from '../test/helpers.js'
const config = loadConfig({}, { DATABASE_PATH: tempDbPath(), LOG_LEVEL: 'silent' })
const database = openDatabase(config.DATABASE_PATH)
await migrateToLatest(database.db)
const app = await buildApp({ config, database, autoStartDelivery: false })
await app.ready()
await database.db.insertInto('portals').values({ member_id: 'm1', domain: 'x', client_endpoint: 'http://127.0.0.1:1/rest/', server_endpoint: 'http://127.0.0.1:1/rest/', access_token: 'a', refresh_token: 'r', expires_at: 0, scope: '', app_status: 'L', lang: 'en', installer_user_id: 1, application_token: 't', state: 'uninstalled', state_reason: null, installed_at: '', updated_at: '', uninstalled_at: null }).execute()
const s = await app.settings.ensure('m1')
let seq = 0
const N = 3000
const t0 = performance.now()
for (let i = 0; i < N; i++) {
  const body = `{"object":1,"entry":[{"id":73${String(++seq).padStart(17, '0')},"form_name":"F","changes":[{"field":"name","value":"A B"},{"field":"phone_number","value":"+84912345678"},{"field":"email","value":"a@b.c"}]}]}`
  const r = await app.inject({ method: 'POST', url: `/tiktok/webhook/${s.webhook_key}`, headers: { 'content-type': 'application/json', 'tiktok-signature': signTikTokSignature(s.signing_secret, body, Math.floor(Date.now() / 1000)) }, payload: body })
  if (r.statusCode !== 200) throw new Error(r.body)
}
console.log('per request ms', ((performance.now() - t0) / N).toFixed(3))
await app.close()
