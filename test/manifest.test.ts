import { readFileSync } from 'node:fs'
import t from 'tap'
import { manifest } from '../manifest/app.js'

// The README is what a person registers the app from; it must say exactly what the code binds.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

t.test('README documents every path, scope, placement and event of the manifest', async (t) => {
  for (const path of Object.values(manifest.paths))
    t.ok(readme.includes(`\`${path}\``) || readme.includes(`+ \`${path}\``), `path ${path}`)
  for (const scope of manifest.scopes) t.ok(readme.includes(`\`${scope}\``), `scope ${scope}`)
  for (const p of manifest.placements) t.ok(readme.includes(`\`${p.code}\``), `placement ${p.code}`)
  for (const e of manifest.events) t.ok(readme.includes(`\`${e}\``), `event ${e}`)
  t.ok(readme.includes(`\`${manifest.code}\``), 'application code')
})

t.test('README lists every environment variable the config reads', async (t) => {
  const { ConfigSchema } = await import('../src/config.js')
  for (const key of Object.keys(ConfigSchema.shape)) t.ok(readme.includes(`\`${key}\``), key)
})

t.test('each CRM mode binds a menu in its list (the settings) and a tab in its card (a lead story)', async (t) => {
  // Classic mode: leads exist, so the lead list and card; simple mode (leads off): TikTok leads
  // become deals, so the deal list and card. @see b24restdocs api-reference/widgets/crm/detail-tab.md
  const inMode = (mode: number) =>
    manifest.placements
      .filter((p) => (p.modes as readonly number[]).includes(mode))
      .map((p) => p.code)
      .sort()
  t.same(inMode(1), ['CRM_LEAD_DETAIL_TAB', 'CRM_LEAD_LIST_MENU'])
  t.same(inMode(2), ['CRM_DEAL_DETAIL_TAB', 'CRM_DEAL_LIST_MENU'])
  for (const p of manifest.placements)
    for (const lang of ['en', 'ru', 'vn'] as const)
      t.ok(p.title[lang] && p.description[lang], `${p.code}: a title and a description in ${lang}`)
})
