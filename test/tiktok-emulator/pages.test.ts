/**
 * Instant forms and test leads:
 * - `/page/get/` pages with page/page_size (1–100), page_status filter, datetime strings; the token
 *   must cover the advertiser (40001). @see bububa model/page/{get,page}.go
 * - `/page/field/get/` answers `data.fields` as names only, plus `meta`. @see bububa model/page/field/get.go
 * - `/page/lead/mock/create/`: one test lead per form until `/page/lead/mock/delete/`; it is pushed
 *   like a real lead [INFERRED] and never exported. @see bububa model/page/lead/mock_create.go
 */
import t from 'tap'
import { call, connect, startReceiver, startTikTok, subscribeBody } from './helpers.js'

t.test('page/get paging and filters; coverage of the token', async (t) => {
  const tt = await startTikTok(t)
  const adv = tt.addAdvertiser({ name: 'Acme' })
  const other = tt.addAdvertiser({ name: 'Other' })
  const ids: string[] = []
  for (let i = 0; i < 5; i++)
    ids.push(tt.addForm(adv.id, { title: `Form ${i}`, status: i === 4 ? 'EDITED' : 'PUBLISHED' }).pageId)
  const token = await connect(tt, [adv.id])

  const p1 = await call(
    tt,
    'GET',
    'page/get/',
    { advertiser_id: adv.id, business_type: 'LEAD_GEN', page: 1, page_size: 2 },
    { token },
  )
  t.equal(p1.body.code, 0)
  t.same(p1.body.data.page_info, { page: 1, page_size: 2, total_number: 5, total_page: 3 })
  t.same(
    p1.body.data.list.map((p: { page_id: string }) => p.page_id),
    ids.slice(0, 2),
  )
  t.match(p1.body.data.list[0], {
    title: 'Form 0',
    status: 'PUBLISHED',
    create_time: /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/,
    update_time: /./,
  })
  const p3 = await call(tt, 'GET', 'page/get/', { advertiser_id: adv.id, page: 3, page_size: 2 }, { token })
  t.equal(p3.body.data.list.length, 1)
  const published = await call(
    tt,
    'GET',
    'page/get/',
    { advertiser_id: adv.id, page_status: 'PUBLISHED', page_size: 100 },
    { token },
  )
  t.equal(published.body.data.page_info.total_number, 4)

  t.equal((await call(tt, 'GET', 'page/get/', { advertiser_id: adv.id, page_size: 101 }, { token })).body.code, 40002)
  t.equal((await call(tt, 'GET', 'page/get/', { advertiser_id: adv.id, page_size: 0 }, { token })).body.code, 40002)
  t.equal((await call(tt, 'GET', 'page/get/', {}, { token })).body.code, 40002)
  t.equal(
    (await call(tt, 'GET', 'page/get/', { advertiser_id: other.id }, { token })).body.code,
    40001,
    'advertiser not granted',
  )
  t.equal((await call(tt, 'GET', 'page/get/', { advertiser_id: adv.id })).body.code, 40104)
})

t.test('page/field/get: field names in form order, and meta; edits show', async (t) => {
  const tt = await startTikTok(t)
  const adv = tt.addAdvertiser({ name: 'Acme' })
  const { pageId } = tt.addForm(adv.id, {
    title: 'Spring',
    fields: [
      { name: 'name' },
      { name: 'email', type: 'EMAIL' },
      { name: 'Which service?', type: 'SINGLE_CHOICE', options: ['A', 'B'] },
    ],
  })
  const token = await connect(tt)
  const res = await call(tt, 'GET', 'page/field/get/', { advertiser_id: adv.id, page_id: pageId }, { token })
  t.same(res.body.data.fields, ['name', 'email', 'Which service?'])
  t.match(res.body.data.meta, { page_id: pageId, page_name: 'Spring', create_time: /^\d{4}-/, page_url: /^https:/ })
  tt.setFormFields(pageId, [{ name: 'name' }, { name: 'city' }])
  const edited = await call(tt, 'GET', 'page/field/get/', { advertiser_id: adv.id, page_id: pageId }, { token })
  t.same(edited.body.data.fields, ['name', 'city'])
  t.equal(
    (await call(tt, 'GET', 'page/field/get/', { advertiser_id: adv.id, page_id: '7400000000000000000' }, { token }))
      .body.code,
    40007,
  )
})

t.test('test lead: create, one per form, get, delete, pushed like a lead', async (t) => {
  const tt = await startTikTok(t)
  const receiver = await startReceiver(t)
  const adv = tt.addAdvertiser({ name: 'Acme' })
  const { pageId } = tt.addForm(adv.id, {
    title: 'Spring',
    fields: [{ name: 'name' }, { name: 'email' }, { name: 'Pick', options: ['Red', 'Blue'] }],
  })
  const token = await connect(tt)
  t.equal(
    (await call(tt, 'POST', 'subscription/subscribe/', subscribeBody(token, receiver.url, { advertiser_id: adv.id })))
      .body.code,
    0,
  )
  const target = { advertiser_id: adv.id, page_id: pageId, lead_source: 'INSTANT_FORM' }

  const created = await call(tt, 'POST', 'page/lead/mock/create/', target, { token })
  t.equal(created.body.code, 0)
  t.same(created.body.data.lead_data, { name: 'Test Lead', email: 'test.lead@example.com', Pick: 'Red' })
  t.match(created.body.data.meta_data, {
    lead_source: 'INSTANT_FORM',
    lead_id: /^\d{19}$/,
    page_id: pageId,
    campaign_id: /^\d+$/,
    create_time: Number,
  })
  const leadId = created.body.data.meta_data.lead_id as string

  const second = await call(tt, 'POST', 'page/lead/mock/create/', target, { token })
  t.equal(second.body.code, 40002, 'only one test lead per form')
  const got = await call(tt, 'GET', 'page/lead/mock/get/', { advertiser_id: adv.id, page_id: pageId }, { token })
  t.same(got.body.data, created.body.data)

  await tt.settled()
  t.equal(receiver.received.length, 1, 'the test lead went through the subscription')
  t.match(receiver.received[0]?.body, new RegExp(`"id":${leadId}`))

  t.equal(
    (
      await call(
        tt,
        'POST',
        'page/lead/mock/delete/',
        { advertiser_id: adv.id, page_id: pageId, lead_id: '1' },
        { token },
      )
    ).body.code,
    40007,
  )
  t.equal(
    (
      await call(
        tt,
        'POST',
        'page/lead/mock/delete/',
        { advertiser_id: adv.id, page_id: pageId, lead_id: leadId },
        { token },
      )
    ).body.code,
    0,
  )
  t.equal(
    (await call(tt, 'GET', 'page/lead/mock/get/', { advertiser_id: adv.id, page_id: pageId }, { token })).body.code,
    40007,
  )
  t.equal(
    (await call(tt, 'POST', 'page/lead/mock/create/', target, { token })).body.code,
    0,
    'after delete, another one',
  )
})
