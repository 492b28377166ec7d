/**
 * The settings tab's entry files come from Vite's build manifest; without a build the start stops
 * with one line that names the command to run (src/settings/web-entry.ts).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { readWebEntry } from '../../src/settings/web-entry.js'

function buildDir(manifest?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'b24tl-web-'))
  if (manifest !== undefined) {
    mkdirSync(join(dir, '.vite'))
    writeFileSync(join(dir, '.vite', 'manifest.json'), manifest)
  }
  return dir
}

/** The message readWebEntry stops with, or a failure if it returns. */
function stop(dir: string): string {
  try {
    readWebEntry(dir)
  } catch (err) {
    return (err as Error).message
  }
  throw new Error('expected readWebEntry to throw')
}

t.test('no build: one line saying to run npm run build:web', async (t) => {
  const message = stop(buildDir())
  t.match(message, /^The settings tab is not built .*: run npm run build:web$/)
  t.notMatch(message, /\n/, 'one line')
})

t.test('a manifest that names no entry, or is not JSON: the same advice', async (t) => {
  for (const manifest of ['{"x.ts":{"file":"assets/x.js"}}', '{not json', '[]']) {
    const message = stop(buildDir(manifest))
    t.match(message, /: run npm run build:web$/, manifest)
    t.notMatch(message, /\n/, `${manifest}: one line`)
  }
})

t.test('a build: the entry script and its styles under /static/web/', async (t) => {
  const dir = buildDir(
    JSON.stringify({
      'widgets/Chart.vue': { file: 'assets/Chart-1.js', isDynamicEntry: true, css: ['assets/Chart-1.css'] },
      'main.ts': { file: 'assets/main-abc.js', isEntry: true, css: ['assets/main-abc.css'] },
    }),
  )
  t.same(readWebEntry(dir), { script: '/static/web/assets/main-abc.js', styles: ['/static/web/assets/main-abc.css'] })
})
