/**
 * The emulators follow the platform docs on their own, so they catch the app's misreadings
 * instead of sharing them: neither imports anything from src/ (nor the other emulator), src/
 * never imports them, and bench/ and scripts/ reach them only through their public entries
 * (index.ts). This reads every import of those folders and fails on the first one that crosses.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const B24 = 'test/emulator'
const TIKTOK = 'test/tiktok-emulator'
/** The one file outside its folder an emulator may import: a manual clock for its own tests. */
const SHARED = ['test/fake-clock.ts']
/** This file: its sample imports below are text, not imports. */
const SELF = `${B24}/boundaries.test.ts`

/** Module specifiers of static imports, re-exports, side-effect imports and dynamic imports. */
export function importsOf(source: string): string[] {
  const found: string[] = []
  const pattern = /\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g
  for (const m of source.matchAll(pattern)) if (m[1] !== undefined) found.push(m[1])
  return found
}

function tsFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.posix.join(dir, f.split(path.sep).join('/')))
}

/** Each relative import of `file`, as a path from the repository root (`.js` read as `.ts`). */
function localImports(file: string): Array<{ spec: string; target: string }> {
  return importsOf(readFileSync(path.join(ROOT, file), 'utf8'))
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => ({
      spec,
      target: path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts'),
    }))
}

const inside = (target: string, dir: string) => target.startsWith(`${dir}/`)

t.test('the scanner sees every form of import', async (t) => {
  const source = [
    "import a from './a.js'",
    "import type { B } from '../b.js'",
    "export { c } from './c.js'",
    "export type * from './d.js'",
    "import './e.js'",
    "const f = await import('./f.js')",
    'import {',
    '  g,',
    "} from 'g-package'",
  ].join('\n')
  t.same(importsOf(source), ['./a.js', '../b.js', './c.js', './d.js', './e.js', './f.js', 'g-package'])
  t.ok(
    localImports(`${B24}/app.ts`).some((i) => i.target === `${B24}/rest.ts`),
    'and reads the emulator: app.ts imports rest.ts',
  )
})

for (const [own, other] of [
  [B24, TIKTOK],
  [TIKTOK, B24],
] as const) {
  t.test(`${own} imports only its own modules (and the shared clock)`, async (t) => {
    const files = tsFiles(own).filter((file) => file !== SELF)
    const crossing = files.flatMap((file) =>
      localImports(file)
        .filter(({ target }) => !inside(target, own) && !SHARED.includes(target))
        .map(({ spec }) => `${file}: ${spec}`),
    )
    t.same(crossing, [], `nothing from src/, ${other}/ or other test code`)
  })
}

t.test('src/ never imports test code (the emulators included), bench/ or scripts/', async (t) => {
  const crossing = tsFiles('src').flatMap((file) =>
    localImports(file)
      .filter(({ target }) => inside(target, 'test') || inside(target, 'bench') || inside(target, 'scripts'))
      .map(({ spec }) => `${file}: ${spec}`),
  )
  t.same(crossing, [])
})

t.test('bench/ and scripts/ use the emulators through their entries only', async (t) => {
  const files = [...tsFiles('bench'), ...tsFiles('scripts')]
  const reached = files.flatMap((file) => localImports(file).map((i) => ({ file, ...i })))
  const crossing = reached
    .filter(({ target }) => [B24, TIKTOK].some((dir) => inside(target, dir) && target !== `${dir}/index.ts`))
    .map(({ file, spec }) => `${file}: ${spec}`)
  t.same(crossing, [])
  t.ok(
    reached.some(({ target }) => target === `${B24}/index.ts`),
    'bench/ or scripts/ does use the emulator',
  )
})
