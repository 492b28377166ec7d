import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { WEB_DIST } from '../paths.js'

/** The part of Vite's build manifest the page shell needs: the entry's script and styles. */
const ViteManifest = z.record(
  z.string(),
  z.object({ file: z.string(), isEntry: z.boolean().optional(), css: z.array(z.string()).optional() }),
)

/** The tab was never built (or half built): the start says so in one line (src/server.ts). */
export class WebBuildMissing extends Error {
  override name = 'WebBuildMissing'
}

export interface WebEntry {
  script: string
  styles: string[]
}

/**
 * The settings tab's entry files (hashed names) from dist/web/.vite/manifest.json, read once at
 * start. Missing or unreadable: one line that says how to build it, so the app never starts
 * serving a tab that cannot load (`npm start`, `npm test` and the Dockerfile build it first).
 */
export function readWebEntry(dir = WEB_DIST): WebEntry {
  const file = join(dir, '.vite', 'manifest.json')
  let raw: string
  try {
    raw = readFileSync(file, 'utf8')
  } catch {
    throw new WebBuildMissing(`The settings tab is not built (no ${file}): run npm run build:web`)
  }
  const parsed = ViteManifest.safeParse(parseJson(raw))
  const entry = parsed.success ? Object.values(parsed.data).find((c) => c.isEntry) : undefined
  if (!entry)
    throw new WebBuildMissing(`The settings tab's build is incomplete (${file} names no entry): run npm run build:web`)
  return { script: `/static/web/${entry.file}`, styles: (entry.css ?? []).map((f) => `/static/web/${f}`) }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
