import t from 'tap'
import { createWebhookBudget } from '../../src/tiktok/webhook-budget.js'
import { isJsonContentType } from '../../src/tiktok/routes.js'

t.test("a minute's budget passes at once, then refills continuously; a refused request spends nothing", async (t) => {
  const budget = createWebhookBudget({ requestsPerMin: 60, bytesPerMin: 6000 })
  for (let i = 0; i < 60; i++) t.equal(budget.take('k', 10, 0).ok, true)
  t.same(budget.take('k', 10, 0), { ok: false, exceeded: 'requests', retryAfterS: 1 })
  t.same(budget.take('other', 10, 0), { ok: true }, 'keys are separate')
  t.equal(budget.take('k', 10, 999).ok, false, 'just under a second: not yet one request back')
  t.equal(budget.take('k', 10, 1000).ok, true, 'one per second comes back')
  t.equal(budget.take('k', 10, 1000).ok, false)
  t.equal(budget.take('k', 10, 10 * 60_000).ok, true, "never more than the minute's worth")
})

t.test('bytes: a body larger than what is left waits for it', async (t) => {
  const budget = createWebhookBudget({ requestsPerMin: 1000, bytesPerMin: 6000 })
  t.equal(budget.take('k', 5000, 0).ok, true)
  t.same(budget.take('k', 2000, 0), { ok: false, exceeded: 'bytes', retryAfterS: 10 })
  t.equal(budget.take('k', 1000, 0).ok, true, 'the refused one spent nothing')
  t.equal(budget.take('k', 2000, 20_000).ok, true)
})

t.test('JSON content types only, UTF-8 when a charset is given', async (t) => {
  for (const ok of [
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON;CHARSET=UTF8',
    'application/vnd.api+json',
    'application/ld+json; profile="x"',
  ])
    t.ok(isJsonContentType(ok), ok)
  for (const bad of [
    undefined,
    '',
    'text/plain',
    'text/json',
    'application/jsonx',
    'application/x-www-form-urlencoded',
    'application/xml',
    'application/json; charset=latin1',
    'application/+json',
  ])
    t.notOk(isJsonContentType(bad), String(bad))
})
