/**
 * Demo pages (the emulator's own, for `npm run demo`): the list of advertisers and forms, a form
 * rendered from its questions, and a submission that becomes a real lead (stored and pushed).
 */
import t from 'tap'
import { call, connect, startReceiver, startTikTok, subscribeBody } from './helpers.js'

t.test('demo: list, form, submit', async (t) => {
  const tt = await startTikTok(t)
  const receiver = await startReceiver(t)
  const adv = tt.addAdvertiser({ name: 'Acme' })
  const { pageId } = tt.addForm(adv.id, {
    title: 'Spring <promo>',
    fields: [
      { name: 'name' },
      { name: 'email', type: 'EMAIL' },
      { name: 'Which service?', type: 'SINGLE_CHOICE', options: ['Install', 'Repair'] },
    ],
  })
  await call(
    tt,
    'POST',
    'subscription/subscribe/',
    subscribeBody(await connect(tt), receiver.url, { advertiser_id: adv.id }),
  )

  const list = await (await fetch(`${tt.url}/demo`)).text()
  t.match(list, `href="/demo/forms/${pageId}"`)
  t.match(list, 'Spring &#60;promo&#62;')

  const form = await (await fetch(`${tt.url}/demo/forms/${pageId}`)).text()
  t.match(form, '<form method="post">')
  t.match(form, 'type="email" name="email"')
  t.match(form, '<option>Repair</option>')

  const posted = await fetch(`${tt.url}/demo/forms/${pageId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ name: 'Ivan', email: 'ivan@example.com', 'Which service?': 'Repair' }).toString(),
  })
  t.equal(posted.status, 200)
  t.match(await posted.text(), 'submitted')
  await tt.settled()
  t.equal(receiver.received.length, 1)
  t.match(JSON.parse(receiver.received[0]?.body ?? '{}').entry[0].changes, [
    { field: 'name', value: 'Ivan' },
    { field: 'email', value: 'ivan@example.com' },
    { field: 'Which service?', value: 'Repair' },
  ])
  t.equal((await fetch(`${tt.url}/demo/forms/1`)).status, 404)
})
