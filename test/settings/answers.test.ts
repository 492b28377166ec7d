import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { z } from 'zod'
import { buildApp } from '../../src/app.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import {
  AnalyticsView,
  CardView,
  FieldCreated,
  FieldsView,
  LeadsPage,
  MappingPreview,
  MappingSaved,
  OptionsSaved,
  QualityView,
  ResendAnswer,
  SecretRevealed,
  SecretRotated,
  StateView,
  StatsView,
  TestLeadAnswer,
  TikTokConnectAnswer,
  TikTokTestLeadAnswer,
  TikTokView,
  WebhookRotated,
} from '../../src/settings/answers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import {
  api,
  installedPortal,
  openTab,
  startEmulator,
  startTikTok,
  testConfig,
  tiktokConfig,
  waitFor,
  type Teardown,
} from '../helpers.js'

/**
 * Every settings API answer is serialized through its zod schema, which drops keys it does not
 * list. A key a handler adds but the schema forgets would vanish silently and the tab would miss
 * it, so these tests catch what each handler returned before serialization (a preSerialization
 * hook on the real app) and require the answer on the wire to be exactly that, and to parse with
 * the schema src/web takes its types from.
 */

type Seen = Map<string, unknown>

/** startApp's app (emulated Bitrix24 and TikTok), plus a hook keeping each handler's own answer. */
async function startRecordedApp(t: Teardown) {
  const emu = await startEmulator(t)
  const tt = await startTikTok(t)
  const config = testConfig(emu, tiktokConfig(tt))
  const database = openDatabase(config.DATABASE_PATH)
  await migrateToLatest(database.db)
  const app: FastifyInstance = await buildApp({
    config,
    database,
    logger: false,
    delivery: { reconcileAfterMs: 300, backoff: { baseMs: 50, maxMs: 400 } },
    tiktok: { taskPollMs: 50, schedule: false },
  })
  const seen: Seen = new Map()
  app.addHook('preSerialization', async (request, reply, payload) => {
    if (reply.statusCode === 200) seen.set(`${request.method} ${request.routeOptions.url}`, structuredClone(payload))
    return payload
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  tt.addRedirectUri(`${url}/tiktok/oauth/callback`)
  const portal = await installedPortal(emu, url)
  return { emu, tt, app, url, portal, seen }
}

/** The JSON a handler's answer becomes when nothing is dropped from it. */
const wire = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

/** A settings API client that checks each 200 answer against its handler's own and its schema. */
function checkedTab(t: Test, url: string, tokens: { session: string; csrf: string }, seen: Seen) {
  const tab = api(url, tokens)
  const checked = new Set<string>()
  async function call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<z.infer<S>> {
    const route = `${method} /api/settings/${path.split('?')[0]}`
    seen.delete(route)
    const res = method === 'GET' ? await tab.get(path) : await tab.post(path, body)
    const text = await res.text()
    t.equal(res.status, 200, `${route}: ${text.slice(0, 200)}`)
    const answer = JSON.parse(text)
    t.ok(seen.has(route), `${route}: the handler's answer was caught`)
    t.same(answer, wire(seen.get(route)), `${route}: the schema drops nothing the handler returned`)
    const parsed = schema.safeParse(answer)
    t.ok(parsed.success, `${route} parses with its schema ${parsed.error?.message ?? ''}`)
    t.same(wire(parsed.data), answer, `${route}: and means the same after parsing`)
    checked.add(route)
    return answer as z.infer<S>
  }
  return {
    checked,
    get: <S extends z.ZodType>(path: string, schema: S) => call('GET', path, schema),
    post: <S extends z.ZodType>(path: string, schema: S, body: unknown = {}) => call('POST', path, schema, body),
  }
}

t.test('each settings API answer is exactly what its handler returned, and parses with its schema', async (t) => {
  const { tt, app, url, portal, seen } = await startRecordedApp(t)
  portal.addUserField({
    FIELD_NAME: 'UF_CRM_PRODUCT',
    USER_TYPE_ID: 'enumeration',
    LIST: [{ VALUE: 'Phone' }, { VALUE: 'Laptop' }],
    EDIT_FORM_LABEL: 'Product',
  })
  const admin = checkedTab(t, url, await openTab(url, portal), seen)
  const reader = checkedTab(t, url, await openTab(url, portal, 2), seen)

  await admin.get('state', StateView)
  const fields = await admin.get('fields', FieldsView)
  const laptop = fields.fields.find((f) => f.code === 'UF_CRM_PRODUCT')!.items.find((i) => i.value === 'Laptop')!
  await admin.post('options', OptionsSaved, {
    dedup_policy: 'off',
    rate_per_s: 5,
    default_country: 'vn',
    verify_mode: 'log_only',
    retention_days: 90,
  })
  const mapping = {
    rules: [{ source: 'Which product?', target: 'UF_CRM_PRODUCT', enumMap: { 'A laptop': laptop.id } }],
    constants: { ASSIGNED_BY_ID: 1 },
  }
  await admin.post('mapping', MappingSaved, mapping)

  // A delivered lead, so the log, the counters, the preview and the state have something to show.
  const conf = (await app.settings.find(portal.memberId))!
  await postWebhook(
    url,
    conf.webhook_key,
    notificationBody([sampleLead({ extra: { 'Which product?': 'A laptop' } })]),
    { secret: conf.signing_secret },
  )
  await waitFor('delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 1)
  const preview = await admin.post('preview', MappingPreview, { mapping })
  t.equal(preview.fields.UF_CRM_PRODUCT, laptop.id, 'the preview maps the answer')
  const test = await admin.post('test-lead', TestLeadAnswer)
  await waitFor('test lead', async () => (await app.leads.find(portal.memberId, test.leadId))?.status === 'delivered')
  const page = await admin.get('leads?limit=1', LeadsPage)
  t.ok(page.nextBefore, 'an older page exists')
  const log = await admin.get('leads?limit=10', LeadsPage)
  t.equal(log.leads.length, 2)
  t.match(log.leads[0], { id: test.leadId, status: 'delivered', name: 'Test Lead', b24LeadUrl: /\/crm\/lead\// })
  await admin.get('stats', StatsView)
  // The card tab's story of the Bitrix24 lead the test lead became.
  const card = await admin.get(`card?entity=lead&id=${log.leads[0]!.b24LeadId}`, CardView)
  t.match(card.leads, [{ id: test.leadId, answers: [{ key: 'name', value: 'Test Lead' }] }])
  await app.db.updateTable('leads').set({ status: 'failed', last_error: 'x' }).where('id', '=', test.leadId).execute()
  t.same(await admin.post('leads/resend', ResendAnswer, { ids: [test.leadId] }), { ok: true, requeued: 1 })
  const state = await admin.get('state', StateView)
  t.ok(state.webhook.url && state.webhook.secretMasked, 'an administrator sees the webhook')
  t.ok(state.questions.includes('Which product?'))

  t.equal((await admin.post('secret/reveal', SecretRevealed)).secret, conf.signing_secret)
  await admin.post('secret/rotate', SecretRotated)
  await admin.post('webhook/rotate', WebhookRotated)

  // The read-only answers: masked, and still exactly what their handlers made.
  const readOnly = await reader.get('state', StateView)
  t.match(readOnly.webhook, { url: null, secretMasked: null }, 'no webhook URL or secret for a manager')
  const masked = await reader.post('preview', MappingPreview, { mapping })
  t.notMatch(JSON.stringify(masked.lead), /Laptop|laptop/, "no lead's answer in a manager's preview")
  t.ok((await reader.get('leads', LeadsPage)).leads.every((l) => l.name === null || l.name.includes('•')))

  // TikTok: connect, then every action on the connection answers the section's view.
  t.same((await admin.get('tiktok', TikTokView)).connections, [])
  const adv = tt.addAdvertiser({ name: 'Acme Ads' })
  const form = tt.addForm(adv.id, { title: 'Spring promo', fields: [{ name: 'name' }, { name: 'Which service?' }] })
  const approveGrant = async () => {
    const u = new URL((await admin.post('tiktok/connect', TikTokConnectAnswer)).authUrl)
    const approved = await tt.approve({
      state: u.searchParams.get('state')!,
      redirectUri: u.searchParams.get('redirect_uri')!,
    })
    t.equal((await fetch(approved.location)).status, 200, 'TikTok sent the admin back')
    return (await admin.get('tiktok', TikTokView)).grant!
  }
  let grant = await approveGrant()
  const connected = await admin.post('tiktok/grant', TikTokView, {
    grantId: grant.id,
    advertiserIds: [adv.id],
    importDays: 0,
  })
  t.equal(connected.connections[0]?.forms[0]?.pageId, form.pageId, 'the form is listed')
  await admin.post('tiktok/forms', TikTokView, { advertiserId: adv.id, allForms: false, pageIds: [form.pageId] })
  await admin.post('tiktok/check', TikTokView, { advertiserId: adv.id })
  await admin.post('tiktok/test-lead', TikTokTestLeadAnswer, { advertiserId: adv.id, pageId: form.pageId })
  const made = await admin.post('tiktok/create-field', FieldCreated, {
    advertiserId: adv.id,
    pageId: form.pageId,
    question: 'Which service?',
  })
  t.ok(made.mapping.rules.some((r) => r.target === made.fieldName))
  await admin.post('tiktok/backfill', TikTokView, { advertiserId: adv.id, days: 1 })
  await admin.get('tiktok', TikTokView)
  await reader.get('tiktok', TikTokView)
  // Lead quality: the ad account's CRM event sets and its stage map, read by both, saved by the admin.
  const { eventSetId } = tt.addCrmEventSet(adv.id, { name: 'Bitrix24' })
  const quality = await admin.get(`quality?advertiserId=${adv.id}`, QualityView)
  t.ok(
    quality.eventSets.some((s) => s.eventSetId === eventSetId),
    "the ad account's event set is listed",
  )
  await reader.get(`quality?advertiserId=${adv.id}`, QualityView)
  await admin.post('quality', QualityView, { advertiserId: adv.id, eventSetId, stageMap: { PROCESSED: 'Qualified' } })
  // Analytics over today (the delivered lead and the TikTok test lead), spend from the emulator's report.
  const today = new Date().toISOString().slice(0, 10)
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)
  const analytics = await admin.get(`analytics?level=campaign&from=${today}&to=${tomorrow}`, AnalyticsView)
  t.ok(analytics.totals.leads >= 1, 'the delivered lead is counted')
  await reader.get(`analytics?level=form&from=${today}&to=${tomorrow}`, AnalyticsView)
  // The CSV download is a file, not JSON: its header and BOM are what it must keep.
  const csv = await fetch(`${url}/api/settings/analytics.csv?from=${today}&to=${tomorrow}`, {
    headers: { 'x-session': (await openTab(url, portal)).session },
  })
  t.equal(csv.status, 200)
  t.match(csv.headers.get('content-type'), /^text\/csv/)
  // (Response.text() would drop the BOM: read the bytes.)
  const bytes = Buffer.from(await csv.arrayBuffer())
  t.same([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a UTF-8 BOM')
  t.ok(bytes.subarray(3).toString('utf8').startsWith('level,id,name,'), 'then the header')
  admin.checked.add('GET /api/settings/analytics.csv')
  await admin.post('tiktok/disconnect', TikTokView, { advertiserId: adv.id })
  grant = await approveGrant()
  t.equal((await admin.post('tiktok/grant/cancel', TikTokView, { grantId: grant.id })).grant, null)

  // Every route of the settings API was checked above (the list is the app's, from /openapi.json).
  const doc = (await app.inject('/openapi.json')).json() as { paths: Record<string, Record<string, unknown>> }
  const routes = Object.entries(doc.paths)
    .filter(([p]) => p.startsWith('/api/settings/'))
    .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
  const checked = new Set([...admin.checked, ...reader.checked])
  t.same(
    routes.filter((r) => !checked.has(r)),
    [],
    'no settings route left unchecked',
  )
})

t.test('an answer schema drops a key it does not list, at any depth', async (t) => {
  const { url, portal, seen } = await startRecordedApp(t)
  const tab = checkedTab(t, url, await openTab(url, portal), seen)
  const state = await tab.get('state', StateView)
  const leak = 'a-signing-secret'
  // What the serializer does with a handler's answer (fastify-type-provider-zod encodes through the schema).
  const out = StateView.encode({
    ...state,
    webhook: { ...state.webhook, signingSecret: leak },
    signing_secret: leak,
  } as StateView)
  t.notMatch(JSON.stringify(out), leak, 'neither the top-level nor the nested extra key is sent')
  t.same(out, state, 'the rest is kept')
})
