/**
 * `npm run demo`: the app, an emulated Bitrix24 portal with the app installed, and a local page
 * that frames the settings tab the way Bitrix24 does (test/emulator/frame-host.ts). Open the
 * printed URL, press "Send test lead" in the page, or press Enter here to send a TikTok-style
 * webhook lead (signed like TikTok's), and watch the leads arrive. Runs until Ctrl-C.
 *
 *   --port <n>      the app's port (default 0: any free port)
 *   --lang <xx>     the portal's LANG (default en; ru and vn are translated)
 *   --every <s>     also send a webhook lead every s seconds
 *   --db <path>     keep the app's SQLite database in this file (default: in memory)
 *
 * Nothing secret is printed: the webhook secret is read inside this process to sign the demo
 * leads, and the page shows it only after "Reveal".
 */
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openDatabase } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrate.js'
import { buildEmulator } from '../test/emulator/app.js'
import { startFrameHost } from '../test/emulator/frame-host.js'
import { leadId, notificationBody, postWebhook } from '../test/fixtures.js'

const CLIENT_ID = 'local.demo.app'
const CLIENT_SECRET = randomBytes(16).toString('hex')

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    lang: { type: 'string' },
    every: { type: 'string' },
    db: { type: 'string' },
  },
})

const emulator = await buildEmulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
await emulator.listen(0)

const config = loadConfig(
  {},
  {
    HOST: '127.0.0.1',
    DATABASE_PATH: values.db ?? ':memory:',
    LOG_LEVEL: 'warn',
    B24_CLIENT_ID: CLIENT_ID,
    B24_CLIENT_SECRET: CLIENT_SECRET,
    B24_OAUTH_URL: emulator.oauthUrl,
    SESSION_SECRET: randomBytes(32).toString('hex'),
    DELIVERY_RECONCILE_AFTER_MS: 2000,
  },
)
const database = openDatabase(config.DATABASE_PATH)
await migrateToLatest(database.db)
const app = await buildApp({ config, database })
const appUrl = await app.listen({ host: '127.0.0.1', port: Number(values.port ?? 0) })

// A portal with a couple of custom lead fields to map answers to.
const portal = emulator.createPortal({ plan: 'pro', lang: values.lang ?? 'en' })
portal.addUserField({ FIELD_NAME: 'UF_CRM_TIKTOK_CAMPAIGN', USER_TYPE_ID: 'string', EDIT_FORM_LABEL: 'TikTok campaign' })
portal.addUserField({ FIELD_NAME: 'UF_CRM_BUDGET', USER_TYPE_ID: 'enumeration', LIST: [{ VALUE: 'Under $500' }, { VALUE: '$500–1000' }, { VALUE: 'Over $1000' }], EDIT_FORM_LABEL: 'Budget' })
portal.addUserField({ FIELD_NAME: 'UF_CRM_CONTACT_TIME', USER_TYPE_ID: 'string', EDIT_FORM_LABEL: 'Best time to call' })
const install = await emulator.installApp(portal, { installUrl: `${appUrl}/bitrix24/install` })
if (install.status !== 200) throw new Error(`the install failed: HTTP ${install.status} ${install.body}`)

const host = await startFrameHost({ emulator, portal, appUrl })

const NAMES = ['Nguyễn Văn An', 'Trần Thị Bình', 'Lê Hoàng Minh', 'Phạm Thu Trang', 'Иван Петров', 'Анна Смирнова', 'Olga Ivanova', 'Maria Garcia']
const BUDGETS = ['Under $500', '$500–1000', 'Over $1000']
const TIMES = ['Morning', 'Afternoon', 'Evening']
const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!
let sent = 0

/** One lead notification, signed with the portal's secret the way TikTok signs it. */
async function sendWebhookLead(): Promise<void> {
  const conf = await app.settings.find(portal.memberId)
  if (!conf) throw new Error('the portal has no settings yet')
  const lead = {
    id: leadId(),
    name: pick(NAMES),
    phone: `09${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`,
    email: `lead${Date.now() % 100000}@example.com`,
    extra: { 'What is your budget?': pick(BUDGETS), 'When should we call you?': pick(TIMES) },
  }
  const res = await postWebhook(appUrl, conf.webhook_key, notificationBody([lead], { formName: 'Spring promo form' }), { secret: conf.signing_secret })
  sent += 1
  process.stdout.write(`  webhook lead ${sent} (${lead.name}): HTTP ${res.status} ${await res.text()}\n`)
}

process.stdout.write(
  [
    '',
    'TikTok Leads demo',
    `  Settings tab, framed like Bitrix24 (Anna Admin, administrator): ${host.url}`,
    `    as Oleg Manager (read-only):            ${host.url}?user=2`,
    `    in Russian / Vietnamese:                ${host.url}?lang=ru   ${host.url}?lang=vn`,
    `    narrow slider / full tab width:         ${host.url}?width=620   ${host.url}?width=1300`,
    `  App:                ${appUrl}`,
    `  Bitrix24 emulator:  ${emulator.url}   (leads: ${emulator.url}/_emulator/portals/${portal.memberId}/leads)`,
    '',
    'Press "Send test lead" in the page, or press Enter here to send a TikTok webhook lead. Ctrl-C stops.',
    '',
  ].join('\n'),
)

const input = createInterface({ input: process.stdin })
input.on('line', () => {
  sendWebhookLead().catch((err: unknown) => process.stdout.write(`  could not send: ${err instanceof Error ? err.message : String(err)}\n`))
})

const every = Number(values.every ?? 0)
const timer = every > 0 ? setInterval(() => void sendWebhookLead().catch(() => undefined), every * 1000) : null

let closing = false
async function shutdown(): Promise<void> {
  if (closing) return
  closing = true
  process.stdout.write('\nstopping…\n')
  if (timer) clearInterval(timer)
  input.close()
  await host.close()
  await app.close()
  await emulator.close()
  process.exit(0)
}
process.on('SIGINT', () => void shutdown())
process.on('SIGTERM', () => void shutdown())
