/**
 * Users who are not portal administrators read lead names in the log (/leads) and the latest
 * lead's full answers and phone in the preview (/preview). Personal data is now shown to
 * administrators only and masked for everyone else.
 */
import t from 'tap'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'
import { api, installedPortal, openTab, startApp, startEmulator, waitFor } from '../helpers.js'

t.test('a non-administrator sees leads and the preview masked; an administrator sees them', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  const lead = sampleLead({
    name: 'Tran Thi Secret',
    phone: '0987654321',
    email: 'secret.person@example.com',
    extra: { 'Home address?': '12 Hidden Street' },
  })
  await postWebhook(url, conf.webhook_key, notificationBody([lead]), { secret: conf.signing_secret })
  await waitFor('delivered', async () => (await app.leads.counts(portal.memberId)).delivered === 1)
  const mapping = { rules: [], constants: {} }
  const personal = ['Tran Thi Secret', '0987654321', '987654321', 'secret.person@example.com', '12 Hidden Street']

  const user = api(url, await openTab(url, portal, 2))
  const leads = await (await user.get('leads')).text()
  const preview = await (await user.post('preview', { mapping })).text()
  for (const p of personal) {
    t.notOk(leads.includes(p), `/leads hides ${p}`)
    t.notOk(preview.includes(p), `/preview hides ${p}`)
  }
  t.match(
    JSON.parse(leads),
    { leads: [{ tiktokLeadId: lead.id, status: 'delivered' }] },
    'the log itself is still there',
  )

  const admin = api(url, await openTab(url, portal, 1))
  t.match(await (await admin.get('leads')).json(), { leads: [{ name: 'Tran Thi Secret' }] })
  t.ok(
    (await (await admin.post('preview', { mapping })).text()).includes('12 Hidden Street'),
    'an administrator sees the answers',
  )
})
