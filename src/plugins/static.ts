import { basename, dirname, extname, join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { existsSync } from 'node:fs'
import { B24JSSDK_BUNDLE, VIEWS_DIR, WEB_DIST } from '../paths.js'

/** The types the pages' files are served with (the exact strings, not the mime table's guess). */
const TYPES: Record<string, string> = {
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
}

/**
 * The pages' files at /static/: views/assets (the TikTok callback page's script), the Bitrix24 JS
 * SDK bundle and the settings tab's build (dist/web). Only files that exist at start get a route
 * (`wildcard: false`), so no path can reach anything else. An hour of caching for the first two:
 * the settings tab asks for the SDK with ?v=<start time>, so a new release is fetched at once.
 */
export async function staticFiles(app: FastifyInstance): Promise<void> {
  const cache = { cacheControl: true, maxAge: 3_600_000, etag: true, lastModified: true, contentType: false }
  const setHeaders = (res: { setHeader(name: string, value: string): unknown }, path: string) => {
    res.setHeader('content-type', TYPES[extname(path)] ?? 'application/octet-stream')
    res.setHeader('x-content-type-options', 'nosniff')
  }
  await app.register(fastifyStatic, {
    root: join(VIEWS_DIR, 'assets'),
    prefix: '/static/',
    wildcard: false,
    index: false,
    dotfiles: 'deny',
    setHeaders,
    schemaHide: true,
    ...cache,
  })
  // The settings tab's build (npm run build:web): hashed names, so cached for a year and never
  // revalidated. Without a build the start already stops with how to make one (web-entry.ts).
  if (existsSync(join(WEB_DIST, 'assets'))) {
    await app.register(fastifyStatic, {
      root: join(WEB_DIST, 'assets'),
      prefix: '/static/web/assets/',
      wildcard: false,
      index: false,
      dotfiles: 'deny',
      decorateReply: false,
      setHeaders,
      schemaHide: true,
      cacheControl: true,
      maxAge: 365 * 86_400_000,
      immutable: true,
      etag: true,
      contentType: false,
    })
  }
  // The SDK's bundle keeps the name the pages have always asked for.
  app.get('/static/b24jssdk.js', { schema: { hide: true } }, (_request, reply) =>
    reply.sendFile(basename(B24JSSDK_BUNDLE), dirname(B24JSSDK_BUNDLE), cache),
  )
}
