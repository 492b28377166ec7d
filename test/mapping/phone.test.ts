import t from 'tap'
import { normalizePhone } from '../../src/mapping/phone.js'

t.test('national numbers read with the default country become E.164', async (t) => {
  t.same(normalizePhone('0912345678', 'VN'), { value: '+84912345678', normalized: true })
  t.same(
    normalizePhone(' 091 234 5678 ', 'vn'),
    { value: '+84912345678', normalized: true },
    'spaces, lower-case country',
  )
  t.same(normalizePhone('15088888888', 'CN'), { value: '+8615088888888', normalized: true }, 'a Chinese mobile')
  t.same(normalizePhone('15088888888', 'US'), { value: '+15088888888', normalized: true }, 'US trunk 1 + area code 508')
  t.same(normalizePhone('89161234567', 'RU'), { value: '+79161234567', normalized: true }, 'Russian 8 trunk prefix')
  t.same(normalizePhone('0084912345678', 'VN'), { value: '+84912345678', normalized: true }, '00 international prefix')
  t.same(normalizePhone('(508) 888-8888', 'US'), { value: '+15088888888', normalized: true })
})

t.test('numbers with + need no country', async (t) => {
  t.same(normalizePhone('+84 91 234 5678', null), { value: '+84912345678', normalized: true })
  t.same(
    normalizePhone('+79161234567', 'VN'),
    { value: '+79161234567', normalized: true },
    'the + wins over the default',
  )
})

t.test('digits with a country code but no + are read as international when invalid nationally', async (t) => {
  t.same(normalizePhone('79161234567', 'VN'), { value: '+79161234567', normalized: true })
})

t.test('without a default country, numbers without + are kept as given', async (t) => {
  t.same(normalizePhone('0912345678', null), { value: '0912345678', normalized: false })
  t.same(normalizePhone(' 15088888888 ', null), { value: '15088888888', normalized: false })
  t.same(
    normalizePhone('0912345678', 'XX'),
    { value: '0912345678', normalized: false },
    'an unknown country counts as none',
  )
})

t.test('garbage is kept, trimmed, never dropped', async (t) => {
  t.same(normalizePhone(' call me maybe ', 'VN'), { value: 'call me maybe', normalized: false })
  t.same(normalizePhone('12', 'VN'), { value: '12', normalized: false })
  t.same(normalizePhone('+1', null), { value: '+1', normalized: false })
  t.same(normalizePhone('   ', 'VN'), { value: '', normalized: false })
})
