/**
 * Simple CRM mode and the universal crm.item.* API for deals (2) and contacts (3):
 * - crm.item.add takes camelCase fields (`fm` multifields on a contact, contactIds,
 *   originatorId/originId, sourceId and utm* on a deal) and answers `{item}`; `$result[...]`
 *   chains a contact into its deal in one batch.
 *   @see api-reference/crm/universal/crm-item-add.md, settings/how-to-call-rest-api/batch.md
 * - crm.item.list filters with the documented prefixes (`@originId` = IN) and answers `{items}`.
 *   @see api-reference/crm/universal/crm-item-list.md
 * - crm.item.fields answers `{fields}` in camelCase. @see api-reference/crm/universal/crm-item-fields.md
 * - crmMode 2: a crm.lead.add becomes a contact and a deal at once and no lead is listed.
 *   @see tutorials/crm/how-to-add-crm-objects/how-to-add-objects-with-crm-mode.md
 * - crm.duplicate.findbycomm with entity_type CONTACT finds contacts made by crm.item.add.
 *   @see api-reference/crm/duplicates/crm-duplicate-find-by-comm.md
 */
import t from 'tap'
import { callJson, startEmulator } from './helpers.js'

t.test('crm.item.add, list and fields for contacts and deals; one batch with $result', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal({ crmMode: 2 })
  const { access_token: token } = portal.issueToken()

  const batch = await callJson(
    portal,
    'batch',
    {
      halt: 1,
      cmd: {
        c:
          'crm.item.add?entityTypeId=3&fields[name]=Lan&fields[lastName]=Vo&fields[originatorId]=tt&fields[originId]=L1' +
          '&fields[fm][0][typeId]=PHONE&fields[fm][0][valueType]=WORK&fields[fm][0][value]=%2B84901234567' +
          '&fields[fm][1][typeId]=EMAIL&fields[fm][1][valueType]=WORK&fields[fm][1][value]=lan%40x.test',
        d:
          'crm.item.add?entityTypeId=2&fields[title]=TikTok%20lead&fields[contactIds][0]=$result[c][item][id]' +
          '&fields[originatorId]=tt&fields[originId]=L1&fields[sourceId]=WEB&fields[utmSource]=tiktok&fields[utmCampaign]=spring',
      },
    },
    token,
  )
  t.equal(batch.status, 200)
  t.same(batch.body.result.result_error, [], 'both commands succeed')
  const contact = batch.body.result.result.c.item
  const deal = batch.body.result.result.d.item
  t.match(contact, { name: 'Lan', lastName: 'Vo', originatorId: 'tt', originId: 'L1', hasPhone: 'Y', hasEmail: 'Y' })
  t.match(contact.fm, [
    { typeId: 'PHONE', valueType: 'WORK', value: '+84901234567' },
    { typeId: 'EMAIL', value: 'lan@x.test' },
  ])
  t.equal(typeof contact.id, 'number', 'ids are integers in the universal API')
  t.match(deal, {
    title: 'TikTok lead',
    contactIds: [contact.id],
    contactId: String(contact.id),
    sourceId: 'WEB',
    utmSource: 'tiktok',
    utmCampaign: 'spring',
    originId: 'L1',
  })
  t.match(
    portal.deals.get(deal.id),
    { UTM_SOURCE: 'tiktok', ORIGINATOR_ID: 'tt', CONTACT_ID: String(contact.id) },
    'the same record crm.deal.get reads',
  )

  await callJson(
    portal,
    'crm.item.add',
    { entityTypeId: 2, fields: { title: 'other', originatorId: 'tt', originId: 'L2' } },
    token,
  )
  await callJson(
    portal,
    'crm.item.add',
    { entityTypeId: 2, fields: { title: 'foreign', originatorId: 'x', originId: 'L1' } },
    token,
  )
  const listed = await callJson(
    portal,
    'crm.item.list',
    { entityTypeId: 2, filter: { originatorId: 'tt', '@originId': ['L1', 'L3'] }, select: ['id', 'originId'] },
    token,
  )
  t.same(
    listed.body.result,
    { items: [{ id: deal.id, originId: 'L1' }] },
    '@originId is IN, other originators left out, select applies',
  )
  t.equal(listed.body.total, 1)

  const fields = await callJson(portal, 'crm.item.fields', { entityTypeId: 3 }, token)
  t.match(fields.body.result.fields, {
    name: { type: 'string' },
    originId: { type: 'string' },
    fm: { type: 'crm_multifield' },
  })
  const dealFields = await callJson(portal, 'crm.item.fields', { entityTypeId: 2 }, token)
  t.match(dealFields.body.result.fields, {
    contactIds: { isMultiple: true },
    utmSource: { type: 'string' },
    sourceId: { statusType: 'SOURCE' },
  })

  const bad = await callJson(
    portal,
    'crm.item.add',
    { entityTypeId: 2, fields: { title: 'x', sourceId: 'NOPE' } },
    token,
  )
  t.equal(bad.status, 400, 'an unknown source is refused as on crm.deal.add')
  t.equal(portal.deals.size, 3)

  const dup = await callJson(
    portal,
    'crm.duplicate.findbycomm',
    { entity_type: 'CONTACT', type: 'PHONE', values: ['+84 90 123 45 67'] },
    token,
  )
  t.same(dup.body.result, { CONTACT: [contact.id] })
  const none = await callJson(
    portal,
    'crm.duplicate.findbycomm',
    { entity_type: 'CONTACT', type: 'EMAIL', values: ['no@x.test'] },
    token,
  )
  t.same(none.body.result, [])
})

t.test('simple mode: crm.lead.add converts at once and no lead is listed; a mode switch applies', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal({ crmMode: 2 })
  const { access_token: token } = portal.issueToken()
  const added = await callJson(
    portal,
    'crm.lead.add',
    { fields: { NAME: 'Kim', TITLE: 'T', PHONE: [{ VALUE: '+1 555', VALUE_TYPE: 'WORK' }] } },
    token,
  )
  t.equal(added.status, 200)
  t.equal(portal.deals.size, 1, 'a deal was made')
  t.equal(portal.contacts.size, 1, 'and a contact')
  const leads = await callJson(portal, 'crm.lead.list', {}, token)
  t.same(leads.body.result, [], 'no lead list in simple mode')
  const deals = await callJson(
    portal,
    'crm.item.list',
    { entityTypeId: 2, filter: { leadId: added.body.result } },
    token,
  )
  t.equal(deals.body.result.items.length, 1)

  portal.crmMode = 1
  t.equal((await callJson(portal, 'crm.settings.mode.get', {}, token)).body.result, 1)
  await callJson(portal, 'crm.lead.add', { fields: { NAME: 'Lee' } }, token)
  t.equal(portal.deals.size, 1, 'classic mode keeps the lead')
  t.equal((await callJson(portal, 'crm.lead.list', {}, token)).body.total, 2)
})
