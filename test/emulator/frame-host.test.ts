/**
 * The frame host's page is frame-host.html with holes: `{{name}}` filled HTML-escaped, `{{{name}}}`
 * as given. A hole left open or a value not escaped would break the page only in a browser test,
 * far from the cause; these check the template on its own.
 */
import t from 'tap'
import { fillTemplate } from './frame-host-page.js'
import { startEmulator } from './helpers.js'
import { startFrameHost } from './index.js'

t.test('holes: escaped, raw, and a missing value throws', async (t) => {
  t.equal(fillTemplate('<b>{{name}}</b>', { name: 'a<"&\'>' }), '<b>a&lt;&quot;&amp;&#39;&gt;</b>')
  t.equal(fillTemplate('<i>{{{html}}}</i> {{n}}px', { html: '<br>', n: 940 }), '<i><br></i> 940px')
  t.throws(() => fillTemplate('{{missing}}', {}), /missing/)
})

t.test('the served page has every hole filled and carries its init data', async (t) => {
  const emu = await startEmulator(t)
  const portal = emu.createPortal()
  const host = await startFrameHost({ emulator: emu, portal, appUrl: 'http://127.0.0.1:9', origin: 'own' })
  t.teardown(() => host.close())
  const page = await (await fetch(`${host.url}?width=700&user=2`)).text()
  t.notMatch(page, /\{\{/, 'no hole left')
  t.match(page, 'style="--slider-width: 700px"')
  const attr = /data-conf="([^"]*)"/.exec(page)?.[1] ?? ''
  const conf = JSON.parse(
    attr
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&'),
  )
  t.match(conf, {
    userId: 2,
    initData: { MEMBER_ID: portal.memberId, DOMAIN: new URL(host.origin).host, IS_ADMIN: false },
  })
})
