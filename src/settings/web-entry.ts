import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { WEB_DIST } from '../paths.js'

/** The part of Vite's build manifest the page shell needs: the entry's script and styles. */
const ViteManifest = z.record(
  z.string(),
  z.object({ file: z.string(), isEntry: z.boolean().optional(), css: z.array(z.string()).optional() }),
)

export interface WebEntry {
  script: string
  styles: string[]
}

/**
 * The kit tab's entry files (hashed names) from dist/web/.vite/manifest.json, read once at start.
 * Missing or unreadable: an error that says how to build it, so `SETTINGS_UI=kit` never serves a
 * page that cannot load.
 */
export function readWebEntry(dir = WEB_DIST): WebEntry {
  let raw: string
  try {
    raw = readFileSync(join(dir, '.vite', 'manifest.json'), 'utf8')
  } catch {
    throw new Error(`SETTINGS_UI=kit needs the built tab in ${dir}: run npm run build:web`)
  }
  const manifest = ViteManifest.parse(JSON.parse(raw))
  const entry = Object.values(manifest).find((c) => c.isEntry)
  if (!entry) throw new Error(`${dir}/.vite/manifest.json names no entry`)
  return { script: `/static/web/${entry.file}`, styles: (entry.css ?? []).map((f) => `/static/web/${f}`) }
}
