import t from 'tap'
import { createSessionSigner } from '../../src/settings/session.js'
import { manualClock } from '../app-clock.js'
import { startApp } from '../helpers.js'

// Session expiry reads the injected clock, so it is tested without waiting an hour.
const SECRET = 'test-session-secret-0123456789abcdef'
const user = { m: 'portal-1', u: 7, a: true, n: 'Ann' }

t.test('a session is valid until just before its expiry and refused from then on', async (t) => {
  const clock = manualClock()
  const signer = createSessionSigner(SECRET, 60_000, clock.now)
  const token = signer.sign(user)
  t.match(signer.verify(token), { ...user, l: 'en', exp: clock.now() + 60_000 })
  await clock.advance(59_999)
  t.ok(signer.verify(token), 'valid 1 ms before expiry')
  await clock.advance(1)
  t.equal(signer.verify(token), null, 'refused at expiry')
  await clock.advance(1)
  t.equal(signer.verify(token), null, 'refused after it')
})

t.test('the app signs sessions by its own clock', async (t) => {
  const clock = manualClock()
  const { app } = await startApp(t, { clock })
  const token = app.sessions.sign(user)
  await clock.advance(60 * 60_000 - 1)
  t.ok(app.sessions.verify(token), 'valid just before the hour')
  await clock.advance(2)
  t.equal(app.sessions.verify(token), null, 'refused just after')
})
