import t from 'tap'
import { OperatingBudget, operatingOf } from '../../src/delivery/operating.js'

const M = 'member-1'
const ADD = 'crm.lead.add'

t.test('operating time is read from the answer (time / result_time)', async (t) => {
  t.same(
    operatingOf({
      start: 1,
      finish: 2,
      duration: 0.3,
      processing: 0.29,
      operating: 12.5,
      operating_reset_at: 1_700_000_060,
    }),
    { operating: 12.5, resetAt: 1_700_000_060_000, duration: 0.3 },
  )
  t.equal(operatingOf({ duration: 0.3 }), null, 'no operating figure: nothing learnt')
  t.equal(operatingOf(undefined), null)
})

t.test('a method is held when the next batch would pass the limit, until the reset the answer named', async (t) => {
  let clock = 1_000_000
  const b = new OperatingBudget({ limitSec: 10, basketMs: 6000 }, () => clock)
  t.equal(b.waitMs(M, ADD, 50), 0, 'nothing known yet: go')
  t.equal(b.fits(M, ADD, 50), 50)
  b.observe(M, ADD, { operating: 8, resetAt: clock + 4000 }, { commands: 1, costSec: 0.2 })
  t.equal(b.fits(M, ADD, 50), 10, '2 s left at 0.2 s a command: 10 fit')
  t.equal(b.waitMs(M, ADD, 10), 0)
  t.equal(b.waitMs(M, ADD, 11), 4000, 'one more would pass the limit: wait for the reset')
  t.equal(b.waitMs(M, 'crm.contact.add', 50), 0, 'other methods are not held')
  clock += 4000
  t.equal(b.waitMs(M, ADD, 50), 0, 'after the reset the figure is stale: go')
})

t.test('OPERATION_TIME_LIMIT holds the method until the last reset, then each later one', async (t) => {
  let clock = 1_000_000
  const b = new OperatingBudget({ limitSec: 10, basketMs: 6000 }, () => clock)
  b.observe(M, ADD, { operating: 9.9, resetAt: clock + 3000 })
  const until = b.refused(M, ADD)
  t.equal(until, clock + 3000, 'held until the reset of the last success')
  t.equal(b.waitMs(M, ADD, 1), 3000)
  t.equal(b.waitMs('other-portal', ADD, 1), 0, 'another portal is not held')
  clock += 3000
  const again = b.refused(M, ADD)
  t.equal(again, clock + 6000, 'refused again: the next basket')
  t.ok(b.waitMs(M, ADD, 1) > 0, 'no batch while suspended')
})
