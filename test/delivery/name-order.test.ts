import t from 'tap'
import { api, installedPortal, openTab, startApp, startEmulator, waitFor } from '../helpers.js'
import { notificationBody, postWebhook, sampleLead } from '../fixtures.js'

/*
 * The portal's name order, set through the settings API, decides how a full name reaches
 * Bitrix24: 'auto' follows the default country (Vietnam: family name first), 'full_in_name'
 * keeps the name whole in NAME.
 */

t.test('name order through the settings API reaches the leads in Bitrix24', async (t) => {
  const emu = await startEmulator(t)
  const { app, url } = await startApp(t, { emu })
  const portal = await installedPortal(emu, url)
  const conf = (await app.settings.find(portal.memberId))!
  const tab = await openTab(url, portal)
  const settings = api(url, tab)
  const options = async (over: Record<string, unknown>) => {
    const res = await settings.post('options', {
      dedup_policy: 'off',
      rate_per_s: 2,
      default_country: 'VN',
      verify_mode: 'log_only',
      ...over,
    })
    t.equal(res.status, 200, `options saved (${JSON.stringify(over)})`)
    return (await res.json()) as { options: { name_order: string } }
  }
  const send = async (name: string) => {
    const lead = sampleLead({ name })
    await postWebhook(url, conf.webhook_key, notificationBody([lead]), { secret: conf.signing_secret })
    await waitFor(
      'delivered',
      async () => (await app.leads.findByTikTokId(portal.memberId, lead.id))?.status === 'delivered',
    )
    const b24 = [...portal.leads.values()].find((l) => String(l.ORIGIN_ID) === lead.id)!
    return { NAME: b24.NAME, LAST_NAME: b24.LAST_NAME || undefined }
  }

  t.equal((await options({})).options.name_order, 'auto', 'auto by default')
  t.strictSame(await send('Nguyễn Văn An'), { NAME: 'Văn An', LAST_NAME: 'Nguyễn' }, 'auto + VN: family name first')

  t.equal((await options({ name_order: 'full_in_name' })).options.name_order, 'full_in_name')
  t.strictSame(await send('Nguyễn Văn An'), { NAME: 'Nguyễn Văn An', LAST_NAME: undefined }, 'full name kept in NAME')

  t.equal((await options({ name_order: 'given_first', default_country: null })).options.name_order, 'given_first')
  t.strictSame(await send('Ivan Petrov'), { NAME: 'Ivan', LAST_NAME: 'Petrov' }, 'given name first')

  const refused = await settings.post('options', {
    dedup_policy: 'off',
    rate_per_s: 2,
    default_country: null,
    verify_mode: 'log_only',
    name_order: 'nonsense',
  })
  t.equal(refused.status, 400, 'an unknown order is refused')
  t.equal((await app.settings.find(portal.memberId))!.name_order, 'given_first', 'and nothing changed')
})
