import t from 'tap'
import type { Lead } from '../../src/db/schema.js'
import {
  commandTimes,
  methodOf,
  readSimpleBatch,
  sortLeadBatch,
  sortSimpleBatch,
} from '../../src/delivery/batch-results.js'
import type { LeadCommand } from '../../src/delivery/lead-commands.js'
import type { SimplePlan } from '../../src/delivery/simple-mode.js'

/**
 * Sorting a batch answer into each lead's outcome, without a server: only a command's own entry
 * in `result` / `result_error` decides its lead, and a lead the answer does not mention is
 * "unknown" (looked up before any resend), never delivered and never failed.
 */

function row(id: number, extra: Partial<Lead> = {}): Lead {
  return {
    id,
    member_id: 'm',
    tiktok_lead_id: `tt${id}`,
    format: 'lead',
    is_test: 0,
    status: 'sending',
    lead_json: '{}',
    raw_json: '{}',
    verify_scheme: null,
    verify_valid: null,
    attempts: 1,
    next_attempt_at: 0,
    b24_entity: 'lead',
    b24_lead_id: null,
    b24_contact_id: null,
    b24_stage_id: null,
    b24_stage_semantic: null,
    b24_stage_at: null,
    b24_delivered_stage_id: null,
    advertiser_id: null,
    campaign_id: null,
    adgroup_id: null,
    ad_id: null,
    page_id: null,
    campaign_name: null,
    adgroup_name: null,
    ad_name: null,
    form_name: null,
    first_contact_at: null,
    duplicate_of: null,
    last_error: null,
    received_at: 0,
    sent_at: 0,
    done_at: null,
    updated_at: 0,
    ...extra,
  }
}

const add = (id: number): LeadCommand => ({ key: `lead_${id}`, command: 'crm.lead.add?fields[NAME]=x', row: row(id) })
const update = (id: number, leadId: number): LeadCommand => ({
  key: `lead_${id}`,
  command: `crm.lead.update?id=${leadId}`,
  row: row(id),
  updates: { leadId, duplicateOf: `lead #${leadId}` },
})

t.test('classic batch: each command sorted by its own result or error', async (t) => {
  const commands = [add(1), add(2), add(3), add(4), add(5), update(6, 77), update(7, 78), add(8)]
  const sorted = sortLeadBatch(commands, {
    result: { lead_1: 101, lead_2: '102', lead_6: true, lead_8: 0 },
    result_error: {
      lead_3: { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' },
      lead_4: { error: 'ERROR_ARGUMENT', error_description: 'PHONE is not valid' },
      lead_5: { error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked' },
      lead_7: { error: '', error_description: 'Not found' },
    },
  })
  t.same(sorted.delivered, [
    { id: 1, b24LeadId: 101 },
    { id: 2, b24LeadId: 102 },
  ])
  t.same(sorted.updated, [{ id: 6, b24LeadId: 77, duplicateOf: 'updated lead #77' }])
  t.same(
    sorted.retry.map((r) => r.id),
    [3],
    'a transient command error is retried',
  )
  t.same(sorted.failed, [
    { id: 4, error: 'ERROR_ARGUMENT: PHONE is not valid' },
    { id: 7, error: 'error: Not found' },
  ])
  t.same(
    sorted.limited.map((r) => r.id),
    [5],
    'the operating limit holds the lead, it does not fail it',
  )
  t.same(sorted.unknown, [8], 'a lead with neither a result nor an error is unknown')
})

t.test('classic batch: an answer that mentions nothing leaves every lead unknown', async (t) => {
  const sorted = sortLeadBatch([add(1), add(2)], { result: [], result_error: [] })
  t.same(sorted.unknown, [1, 2])
  t.same([sorted.delivered, sorted.failed, sorted.retry, sorted.limited], [[], [], [], []])
})

function plan(id: number, extra: Partial<SimplePlan> = {}): SimplePlan {
  return { row: row(id), contactKey: `c_${id}`, contactId: null, sharesContactOf: null, dealKey: `d_${id}`, ...extra }
}

t.test('simple mode: the deal decides the lead; a contact made without its deal is kept', async (t) => {
  const plans = [
    plan(1),
    plan(2, { contactKey: null, contactId: 55 }),
    plan(3),
    plan(4),
    plan(5),
    plan(6, { contactKey: null, sharesContactOf: 'c_1' }),
  ]
  const res = {
    result: {
      c_1: { item: { id: 11 } },
      d_1: { item: { id: 21 } },
      d_2: { item: { id: 22 } },
      c_3: { item: { id: 13 } },
      c_4: { item: { id: 14 } },
    },
    result_error: {
      d_3: { error: 'ERROR_CORE', error_description: 'try later' },
      d_4: { error: 'ACCESS_DENIED' },
      d_5: { error: 'OPERATION_TIME_LIMIT' },
    },
  }
  const outcomes = readSimpleBatch(plans, res)
  t.same(outcomes.get(1), { kind: 'delivered', dealId: 21, contactId: 11 })
  t.same(outcomes.get(2), { kind: 'delivered', dealId: 22, contactId: 55 }, 'a reused contact is bound')
  t.same(outcomes.get(3), { kind: 'retry', contactId: 13 })
  t.same(outcomes.get(4), { kind: 'failed', contactId: 14, error: 'ACCESS_DENIED: Bitrix24 refused the deal' })
  t.same(outcomes.get(5), { kind: 'limited', contactId: null })
  t.same(outcomes.get(6), { kind: 'unknown', contactId: 11 }, 'a shared contact is read from its own command')

  const sorted = sortSimpleBatch(plans, res)
  t.same(sorted.delivered, [
    { id: 1, b24LeadId: 21, b24ContactId: 11 },
    { id: 2, b24LeadId: 22, b24ContactId: 55 },
  ])
  t.same(
    sorted.retry.map((r) => r.id),
    [3],
  )
  t.same(sorted.failed, [{ id: 4, error: 'ACCESS_DENIED: Bitrix24 refused the deal' }])
  t.same(
    sorted.limited.map((r) => r.id),
    [5],
  )
  t.same(sorted.unknown, [6])
  t.same(
    sorted.madeContacts,
    [
      { id: 3, contactId: 13 },
      { id: 4, contactId: 14 },
      { id: 6, contactId: 11 },
    ],
    'contacts of leads whose deal was not made stay on the lead for the next attempt',
  )
})

t.test('simple mode: a contact the lead already holds is not recorded again', async (t) => {
  const sorted = sortSimpleBatch([plan(1, { row: row(1, { b24_contact_id: 13 }), contactKey: null, contactId: 13 })], {
    result: {},
    result_error: { d_1: { error: 'ERROR_CORE' } },
  })
  t.same(sorted.madeContacts, [])
  t.same(
    sorted.retry.map((r) => r.id),
    [1],
  )
})

t.test('operating times per command, with the cost when Bitrix24 gave a duration', async (t) => {
  const times = commandTimes(['a', 'b', 'c'], {
    result_time: {
      a: { operating: 3.5, operating_reset_at: 1_700_000_000, duration: 0.2 },
      b: { operating: 4 },
    },
  })
  t.same(times, [
    {
      key: 'a',
      time: { operating: 3.5, resetAt: 1_700_000_000_000, duration: 0.2 },
      cost: { commands: 1, costSec: 0.2 },
    },
    { key: 'b', time: { operating: 4, resetAt: null, duration: null } },
  ])
  t.equal(methodOf('CRM.LEAD.ADD?fields[NAME]=x'), 'crm.lead.add')
})
