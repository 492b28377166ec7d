/**
 * `npm run demo`: the app, an emulated Bitrix24 portal with the app installed, and a local page
 * that frames the settings tab the way Bitrix24 does (test/emulator/frame-host.ts). Open the
 * printed URL, press "Send test lead" in the page, or press Enter here to send a TikTok-style
 * webhook lead (signed like TikTok's), and watch the leads arrive. Runs until Ctrl-C.
 *
 * The TikTok side: the TikTok API for Business emulator (test/tiktok-emulator/app.ts) plays
 * TikTok, with one ad account "Demo Ads" and two instant forms. Press "Connect TikTok" in the
 * tab, approve in the popup (the emulator's auth page), pick the account and forms, then open
 * the printed TikTok demo page and submit a form: TikTok pushes the lead to the app, which
 * delivers it to the emulated portal.
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
import { manifest } from '../manifest/app.js'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openDatabase } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrate.js'
import { buildEmulator, CONTROL_PATH, startFrameHost } from '../test/emulator/index.js'
import { leadId, notificationBody, postWebhook } from '../test/fixtures.js'
import { buildTikTokEmulator } from '../test/tiktok-emulator/index.js'

const CLIENT_ID = 'local.demo.app'
const CLIENT_SECRET = randomBytes(16).toString('hex')
const TIKTOK_APP_ID = '7400000000000000001'
const TIKTOK_APP_SECRET = randomBytes(20).toString('hex')

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    lang: { type: 'string' },
    every: { type: 'string' },
    db: { type: 'string' },
  },
})

// The scopes the app registers (manifest/app.ts), im included: the alerts reach the demo portal.
const emulator = await buildEmulator({
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  scope: manifest.scopes.join(','),
})
await emulator.listen(0)

// TikTok: pushes retried after 5 s, doubling, for 10 minutes (TikTok: 60 s, for 72 hours); a lead
// download task takes 1.5 s.
const tt = await buildTikTokEmulator({
  appId: TIKTOK_APP_ID,
  appSecret: TIKTOK_APP_SECRET,
  retry: { firstDelayMs: 5000, factor: 2, windowMs: 10 * 60_000 },
  taskDelayMs: 1500,
})
await tt.listen(0)
const demoAds = tt.addAdvertiser({ name: 'Demo Ads' })
const SERVICES = ['Installation', 'Repair', 'Maintenance', 'Consultation']
tt.addForm(demoAds.id, {
  title: 'Spring promo',
  fields: [
    { name: 'name' },
    { name: 'phone_number', type: 'PHONE_NUMBER' },
    { name: 'email', type: 'EMAIL' },
    { name: 'Which service?', type: 'SINGLE_CHOICE', options: SERVICES },
  ],
})
tt.addForm(demoAds.id, {
  title: 'Free consultation',
  fields: [
    { name: 'name' },
    { name: 'phone_number', type: 'PHONE_NUMBER' },
    { name: 'city' },
    { name: 'Which service?', type: 'SINGLE_CHOICE', options: SERVICES },
  ],
})

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
    TIKTOK_APP_ID,
    TIKTOK_APP_SECRET,
    TIKTOK_API_URL: tt.url,
    TIKTOK_AUTH_URL: tt.authUrl,
  },
)
const database = openDatabase(config.DATABASE_PATH)
await migrateToLatest(database.db)
const app = await buildApp({ config, database, tiktok: { taskPollMs: 500 } })
const appUrl = await app.listen({ host: '127.0.0.1', port: Number(values.port ?? 0) })
// The developer app's registered redirect URL (My Apps > App Detail).
tt.addRedirectUri(`${appUrl}/tiktok/oauth/callback`)

// A portal with a couple of custom lead fields to map answers to.
const portal = emulator.createPortal({ plan: 'pro', lang: values.lang ?? 'en' })
portal.addUserField({
  FIELD_NAME: 'UF_CRM_TIKTOK_CAMPAIGN',
  USER_TYPE_ID: 'string',
  EDIT_FORM_LABEL: 'TikTok campaign',
})
portal.addUserField({
  FIELD_NAME: 'UF_CRM_BUDGET',
  USER_TYPE_ID: 'enumeration',
  LIST: [{ VALUE: 'Under $500' }, { VALUE: '$500–1000' }, { VALUE: 'Over $1000' }],
  EDIT_FORM_LABEL: 'Budget',
})
portal.addUserField({ FIELD_NAME: 'UF_CRM_CONTACT_TIME', USER_TYPE_ID: 'string', EDIT_FORM_LABEL: 'Best time to call' })
const install = await emulator.installApp(portal, { installUrl: `${appUrl}/bitrix24/install` })
if (install.status !== 200) throw new Error(`the install failed: HTTP ${install.status} ${install.body}`)

const host = await startFrameHost({ emulator, portal, appUrl })

const NAMES = [
  'Nguyễn Văn An',
  'Trần Thị Bình',
  'Lê Hoàng Minh',
  'Phạm Thu Trang',
  'Иван Петров',
  'Анна Смирнова',
  'Olga Ivanova',
  'Maria Garcia',
]
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
  const res = await postWebhook(appUrl, conf.webhook_key, notificationBody([lead], { formName: 'Spring promo form' }), {
    secret: conf.signing_secret,
  })
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
    `  Bitrix24 emulator:  ${emulator.url}   (leads: ${emulator.url}${CONTROL_PATH}/portals/${portal.memberId}/leads)`,
    `  TikTok emulator:    ${tt.url}   (ad account "Demo Ads" ${demoAds.id}, two instant forms)`,
    '',
    'Press "Send test lead" in the page, or press Enter here to send a TikTok webhook lead.',
    '',
    'Connect TikTok:',
    '  1. In the settings tab, press "Connect TikTok for Business".',
    "  2. Approve in the popup (the TikTok emulator's authorisation page).",
    '  3. Back in the tab, tick "Demo Ads", set the import (0 days is fine) and press "Connect selected";',
    '     keep "All forms" or choose "Only these forms".',
    `  4. Open ${tt.url}/demo, pick a form and submit it: TikTok pushes the lead, and it arrives in`,
    "     the emulated portal (and in the tab's delivery log).",
    '',
    'Ctrl-C stops.',
    '',
  ].join('\n'),
)

const input = createInterface({ input: process.stdin })
input.on('line', () => {
  sendWebhookLead().catch((err: unknown) =>
    process.stdout.write(`  could not send: ${err instanceof Error ? err.message : String(err)}\n`),
  )
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
  await tt.close()
  await emulator.close()
  process.exit(0)
}
process.on('SIGINT', () => void shutdown())
process.on('SIGTERM', () => void shutdown())
