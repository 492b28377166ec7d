/**
 * `npm run emulator` (npx tsx test/emulator/cli.ts): starts the emulator, creates one demo
 * portal and prints its URLs. Drive it further through the `/_emulator/` control API.
 *
 *   --port <n>           listen port (default 0: any free port; env B24_EMULATOR_PORT)
 *   --member-id <id>     member_id of the demo portal
 *   --plan <p>           free | pro | enterprise (default pro)
 *   --crm-mode <1|2>     1 classic (leads), 2 simple (no leads)
 *   --client-id <id>     OAuth client_id (default local.test.app)
 *   --client-secret <s>  OAuth client_secret (default test-secret)
 *   --install <url>      install the app at once: POST to this install URL
 *   --event-handler <u>  where ONAPPINSTALL goes if the app binds nothing during install
 *   --json               print one JSON line instead of the human summary
 */
import { parseArgs } from 'node:util'
import { buildEmulator, CONTROL_PATH } from './index.js'

// `tap test/emulator/` runs every file of the folder as a test: this one is a program, not a test.
if (process.env['TAP_CHILD_ID'] !== undefined) {
  process.stdout.write('1..0 # the emulator CLI is a program, not a test\n')
  process.exit(0)
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'member-id': { type: 'string' },
    plan: { type: 'string' },
    'crm-mode': { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    install: { type: 'string' },
    'event-handler': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
})

const plan = values.plan === 'free' || values.plan === 'enterprise' ? values.plan : 'pro'
const emulator = await buildEmulator({
  ...(values['client-id'] !== undefined ? { clientId: values['client-id'] } : {}),
  ...(values['client-secret'] !== undefined ? { clientSecret: values['client-secret'] } : {}),
})
const url = await emulator.listen(Number(values.port ?? process.env['B24_EMULATOR_PORT'] ?? 0))
const portal = emulator.createPortal({
  ...(values['member-id'] !== undefined ? { memberId: values['member-id'] } : {}),
  plan,
  crmMode: values['crm-mode'] === '2' ? 2 : 1,
})
portal.addUserField({
  FIELD_NAME: 'UF_CRM_TIKTOK_CAMPAIGN',
  USER_TYPE_ID: 'string',
  EDIT_FORM_LABEL: 'TikTok campaign',
})
portal.addUserField({
  FIELD_NAME: 'UF_CRM_LEAD_QUALITY',
  USER_TYPE_ID: 'enumeration',
  LIST: [{ VALUE: 'Hot' }, { VALUE: 'Warm' }, { VALUE: 'Cold' }],
  EDIT_FORM_LABEL: 'Lead quality',
})
const admin = portal.issueToken(1)

let installStatus: number | undefined
if (values.install !== undefined) {
  const reply = await emulator.installApp(portal, {
    installUrl: values.install,
    ...(values['event-handler'] !== undefined ? { eventHandlerUrl: values['event-handler'] } : {}),
  })
  installStatus = reply.status
}

const summary = {
  url,
  oauthTokenEndpoint: `${emulator.oauthUrl}/oauth/token/`,
  serverEndpoint: portal.serverEndpoint,
  control: `${url}${CONTROL_PATH}/`,
  portal: {
    memberId: portal.memberId,
    domain: portal.domain,
    clientEndpoint: portal.clientEndpoint,
    plan: portal.plan,
    crmMode: portal.crmMode,
  },
  app: { clientId: values['client-id'] ?? 'local.test.app', clientSecret: values['client-secret'] ?? 'test-secret' },
  adminTokens: admin,
  ...(installStatus !== undefined ? { installStatus, applicationToken: portal.applicationToken } : {}),
}

if (values.json) {
  process.stdout.write(`${JSON.stringify(summary)}\n`)
} else {
  process.stdout.write(
    [
      `Bitrix24 emulator listening on ${url}`,
      `  OAuth token endpoint  ${summary.oauthTokenEndpoint}`,
      `  server_endpoint       ${summary.serverEndpoint}`,
      `  control API           ${summary.control}`,
      `Demo portal`,
      `  member_id             ${portal.memberId}`,
      `  DOMAIN                ${portal.domain}   (PROTOCOL=0)`,
      `  client_endpoint       ${portal.clientEndpoint}`,
      `  app client_id/secret  ${summary.app.clientId} / ${summary.app.clientSecret}`,
      `  admin access_token    ${admin.access_token}`,
      `  admin refresh_token   ${admin.refresh_token}`,
      ...(installStatus !== undefined ? [`  install POST answered ${installStatus}`] : []),
      `Install the app: POST ${url}${CONTROL_PATH}/portals/${portal.memberId}/install {"installUrl": "…"}`,
      '',
    ].join('\n'),
  )
}

let closing = false
const shutdown = (signal: string) => {
  if (closing) return
  closing = true
  process.stderr.write(`b24 emulator: ${signal}, closing\n`)
  void emulator.close().then(() => process.exit(0))
}
process.on('SIGINT', () => shutdown('SIGINT'))
process.on('SIGTERM', () => shutdown('SIGTERM'))
