import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The project root (where package.json is), whether running from src/ via tsx or from dist/ after a build. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error(`package.json not found above ${fileURLToPath(import.meta.url)}`)
    dir = up
  }
  return dir
}

export const ROOT = findRoot()
export const VIEWS_DIR = join(ROOT, 'views')
/** The settings tab on the UI kit, as Vite builds it (src/web/vite.config.ts) */
export const WEB_DIST = join(ROOT, 'dist', 'web')
export const B24JSSDK_BUNDLE = join(ROOT, 'node_modules', '@bitrix24', 'b24jssdk', 'dist', 'umd', 'index.min.js')
