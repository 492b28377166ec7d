/**
 * Lead quality's pure parts: the default stage map from crm.status.list semantics (lead stages,
 * deal stages with the APOLOGY failure stage, a portal's own stages in SORT order), the saved map
 * over the default, TikTok's hashing of e-mail and phone against known SHA-256 vectors, and the
 * user data read from a stored lead; the one initial-stage rule (in TypeScript and in the SQL the
 * analytics use, which agree on every id), the stage a lead is delivered at, and a record's card link.
 */
import SQLite from 'better-sqlite3'
import t from 'tap'
import { cardUrl, leadUrlTemplate } from '../../src/settings/view-model.js'
import {
  defaultStageMap,
  deliveredStageOf,
  effectiveStageMap,
  initialStageSql,
  isInitialStage,
  parseStages,
} from '../../src/quality/stage-map.js'
import { hashedUser } from '../../src/quality/user-data.js'
import { hashEmail, hashPhone } from '../../src/tiktok-business/events-api.js'

// sha256 of the UTF-8 text, computed outside this code base (Python hashlib).
const VECTORS = {
  abc: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  'ann@example.com': '71d4f55f72fa128dfb468a1a3901507c804b74316488744d769d7f4b16696476',
  '+84912345678': 'ed644edf0566470f0b5a8c13c792fa8e8a489574da3aceec119b9456e870d396',
}

const row = (STATUS_ID: string, SORT: number, SEMANTICS: string | null, extra?: string) => ({
  STATUS_ID,
  NAME: STATUS_ID.toLowerCase(),
  SORT: String(SORT),
  SEMANTICS,
  ...(extra ? { EXTRA: { SEMANTICS: extra } } : {}),
})

t.test('default map of the lead stages', async (t) => {
  const stages = parseStages([
    row('JUNK', 50, 'F', 'failure'),
    row('NEW', 10, null, 'process'),
    row('PROCESSED', 30, null, 'process'),
    row('CONVERTED', 40, 'S', 'success'),
    row('IN_PROCESS', 20, null, 'process'),
  ])
  t.same(
    stages.map((s) => s.id),
    ['NEW', 'IN_PROCESS', 'PROCESSED', 'CONVERTED', 'JUNK'],
    'in SORT order',
  )
  t.same(defaultStageMap(stages), {
    NEW: null,
    IN_PROCESS: 'Contacted',
    PROCESSED: 'Qualified',
    CONVERTED: 'Converted',
    JUNK: 'Unqualified',
  })
})

t.test('default map of the deal stages: every later in-progress stage is Qualified, APOLOGY a failure', async (t) => {
  const stages = parseStages([
    row('NEW', 10, null),
    row('PREPARATION', 20, null),
    row('PREPAYMENT_INVOICE', 30, null),
    row('EXECUTING', 40, ''),
    row('WON', 60, 'S'),
    row('LOSE', 70, 'F'),
    row('APOLOGY', 80, null, 'apology'),
  ])
  t.same(defaultStageMap(stages), {
    NEW: null,
    PREPARATION: 'Contacted',
    PREPAYMENT_INVOICE: 'Qualified',
    EXECUTING: 'Qualified',
    WON: 'Converted',
    LOSE: 'Unqualified',
    APOLOGY: 'Unqualified',
  })
})

t.test("a portal's own first stage and a stage added after the save", async (t) => {
  const stages = parseStages([row('C1:NEW', 5, null), row('CALLED', 6, null), row('WON_BIG', 7, 'S')])
  t.same(defaultStageMap(stages), { 'C1:NEW': null, CALLED: 'Contacted', WON_BIG: 'Converted' })
  t.same(
    effectiveStageMap(stages, { CALLED: 'Reached', GONE: 'Qualified' }),
    { 'C1:NEW': null, CALLED: 'Reached', WON_BIG: 'Converted' },
    'a saved choice wins, a new stage gets its default, a removed one drops out',
  )
  t.ok(isInitialStage('NEW'))
  t.ok(isInitialStage('C3:NEW'))
  t.notOk(isInitialStage('IN_PROCESS'))
  t.throws(() => parseStages([{ NAME: 'no id' }]), 'an answer without STATUS_ID is refused')
})

t.test('hashing: TikTok normalisation, known SHA-256 vectors', async (t) => {
  t.equal(hashEmail('ann@example.com'), VECTORS['ann@example.com'])
  t.equal(hashEmail('  Ann@Example.COM \n'), VECTORS['ann@example.com'], 'trimmed and lower case first')
  t.equal(hashEmail('abc'), null, 'not an address: nothing sent')
  t.equal(hashEmail('   '), null)
  t.equal(hashPhone('+84912345678'), VECTORS['+84912345678'])
  t.equal(hashPhone('0912345678'), null, 'not E.164: nothing sent')
  t.equal(hashPhone('+84 91 234 5678'), null, 'E.164 has no spaces')
})

t.test('the user data of a stored lead: its answers normalised, then hashed', async (t) => {
  const lead = (answers: Array<{ key: string; value: string }>) => JSON.stringify({ leadId: '1', answers })
  t.same(
    hashedUser(
      lead([
        { key: 'email', value: ' ANN@example.com' },
        { key: 'work_email', value: 'ann@example.com' },
        { key: 'phone_number', value: '091 234 5678' },
        { key: 'name', value: 'Ann' },
      ]),
      'VN',
    ),
    { email: [VECTORS['ann@example.com']], phone: [VECTORS['+84912345678']] },
    'one hash per distinct value; a national number read with the portal country',
  )
  t.same(
    hashedUser(lead([{ key: 'phone_number', value: '091 234 5678' }]), null),
    { email: [], phone: [] },
    'no country: no guess',
  )
  t.same(hashedUser(lead([]), 'VN'), { email: [], phone: [] }, 'answers emptied by retention')
  t.same(hashedUser('not json', 'VN'), { email: [], phone: [] })
  t.same(
    hashedUser(
      lead([
        { key: 'Phone Number', value: '+84 91 234 5678' },
        { key: 'E-mail ', value: 'ann@example.com' },
      ]),
      null,
    ),
    { email: [], phone: [VECTORS['+84912345678']] },
    'a question keyed by its text is read as delivery reads it ("Phone Number" is phone_number)',
  )
  t.same(
    hashedUser(lead([{ key: 'Email', value: 'Ann@Example.com' }]), null),
    { email: [VECTORS['ann@example.com']], phone: [] },
    'the e-mail too, whatever its case',
  )
})

/*
 * Regression (review of issue 10): the initial-stage rule was written three times: a regular
 * expression here, `!= 'NEW' and not like '%:NEW'` in the analytics SQL (which LIKE matches in any
 * case and for any prefix), and "the first stage in SORT order" in the default map. One rule now,
 * rendered for SQLite too, and the two renderings agree on every id.
 */
t.test('the initial stage: one rule, the same in SQL', async (t) => {
  const db = new SQLite(':memory:')
  t.teardown(() => db.close())
  const sqlSays = db.prepare(`select ${initialStageSql('s')} as v from (select ? as s)`)
  const ids = [
    'NEW',
    'C1:NEW',
    'C12:NEW',
    'new',
    'c1:new',
    'C1:new',
    'X:NEW',
    'UC_AB12:NEW',
    'C:NEW',
    'C1X:NEW',
    'CC1:NEW',
  ]
  const expected = ['NEW', 'C1:NEW', 'C12:NEW']
  for (const id of [...ids, 'IN_PROCESS', 'C1:PREPARATION', 'NEWS', 'C1:NEW ', ' NEW', ''])
    t.equal(Boolean((sqlSays.get(id) as { v: number }).v), isInitialStage(id), `"${id}": SQL and TypeScript agree`)
  t.same(
    ids.filter((id) => isInitialStage(id)),
    expected,
    "NEW, and a pipeline's C<n>:NEW, exactly",
  )
  t.same(
    defaultStageMap(parseStages([row('IN_PROCESS', 5, null), row('NEW', 10, null), row('WON', 20, 'S')])),
    { IN_PROCESS: 'Contacted', NEW: null, WON: 'Converted' },
    'the default map knows the initial stage by the rule, not by its place in the list',
  )
})

t.test('the stage a lead is delivered at: the mapped one, else the initial stage', async (t) => {
  t.equal(deliveredStageOf('lead', {}), 'NEW')
  t.equal(deliveredStageOf('lead', { STATUS_ID: 'IN_PROCESS' }), 'IN_PROCESS')
  t.equal(deliveredStageOf('lead', { STATUS_ID: '  ' }), 'NEW', 'an empty mapping is none')
  t.equal(deliveredStageOf('lead', { STAGE_ID: 'WON' }), 'NEW', 'a lead has no STAGE_ID')
  t.equal(deliveredStageOf('deal', {}), 'NEW', 'the general pipeline')
  t.equal(deliveredStageOf('deal', { CATEGORY_ID: 3 }), 'C3:NEW', "a mapped pipeline's first stage")
  t.equal(deliveredStageOf('deal', { CATEGORY_ID: '0' }), 'NEW')
  t.equal(deliveredStageOf('deal', { CATEGORY_ID: 3, STAGE_ID: 'C3:PREPARATION' }), 'C3:PREPARATION')
  t.equal(deliveredStageOf('deal', { STATUS_ID: 'IN_PROCESS' }), 'NEW', 'a deal has no STATUS_ID')
})

t.test("a record's card: a lead's, or a deal's under /crm/deal/", async (t) => {
  const template = leadUrlTemplate('acme.bitrix24.com')
  t.equal(cardUrl(template, 'lead', 42), 'https://acme.bitrix24.com/crm/lead/details/42/')
  t.equal(cardUrl(template, 'deal', 42), 'https://acme.bitrix24.com/crm/deal/details/42/')
  t.equal(
    cardUrl(leadUrlTemplate('127.0.0.1:3000/p/x'), 'deal', '#MARK#'),
    'http://127.0.0.1:3000/p/x/crm/deal/details/#MARK#/',
  )
})
