/**
 * The analytics worker thread (runner.ts starts it): the grouping query and the CSV cursors run
 * here, on read-only connections of their own to the app's database file, so the main thread's
 * event loop (TikTok's webhooks, Bitrix24's events, /health) never waits for a million leads.
 * WAL gives each connection one consistent snapshot while the app's connection keeps writing.
 *
 * Messages (runner.ts is the other side): `top` → `top` (the answer's groups and totals);
 * `open` starts a CSV cursor on a connection of its own (a better-sqlite3 connection runs nothing
 * else while a cursor is open), then each `pull` → one `chunk` of text, the last with `done`;
 * `close` ends a cursor early (the download went away). A failure answers `error`.
 * Imports only what the query needs: no app, no logger, no network.
 */
import { parentPort, workerData } from 'node:worker_threads'
import SQLite from 'better-sqlite3'
import { type AnalyticsPeriod, createAnalyticsQueries } from '../db/repositories/analytics.js'
import { analyticsCsvChunks } from './export.js'

export type ToWorker =
  | { type: 'top'; id: number; period: AnalyticsPeriod; limit: number }
  | { type: 'open'; id: number; period: AnalyticsPeriod }
  | { type: 'pull'; id: number }
  | { type: 'close'; id: number }

export type FromWorker =
  | { type: 'top'; id: number; result: ReturnType<ReturnType<typeof createAnalyticsQueries>['top']> }
  | { type: 'chunk'; id: number; bytes: Uint8Array | null; done: boolean }
  | { type: 'error'; id: number; message: string; code: string | null }

/**
 * A read-only connection for the analytics. Grouping a million leads may sort: it may use a 64 MB
 * page cache and a helper thread for its sorter (the app's connection keeps SQLite's 2 MB); the
 * memory is given back after each query (shrink_memory), so an idle worker holds little. A lock
 * held by a writer's checkpoint is waited for as briefly as on the app's connection.
 * @see https://www.sqlite.org/pragma.html#pragma_threads
 */
export function openReader(file: string): SQLite.Database {
  const reader = new SQLite(file, { readonly: true, fileMustExist: true })
  reader.pragma('busy_timeout = 25')
  reader.pragma('cache_size = -65536')
  reader.pragma('threads = 2')
  return reader
}

function start(file: string): void {
  const port = parentPort!
  const main = openReader(file)
  const queries = createAnalyticsQueries(main)
  /** Open CSV cursors, each with the chunk made ready for its next pull (made while the main thread sends the last). */
  const cursors = new Map<
    number,
    { db: SQLite.Database; chunks: Generator<string>; ready: IteratorResult<string> | null }
  >()
  const send = (m: FromWorker) => port.postMessage(m)
  const encoder = new TextEncoder()
  const fail = (id: number, err: unknown) => {
    const e = err as { message?: unknown; code?: unknown }
    send({
      type: 'error',
      id,
      message: typeof e?.message === 'string' ? e.message : String(err),
      code: typeof e?.code === 'string' ? e.code : null,
    })
  }
  const closeCursor = (id: number) => {
    const c = cursors.get(id)
    if (!c) return
    cursors.delete(id)
    try {
      c.chunks.return(undefined)
    } finally {
      c.db.close()
    }
  }

  port.on('message', (m: ToWorker) => {
    try {
      switch (m.type) {
        case 'top':
          try {
            send({ type: 'top', id: m.id, result: queries.top(m.period, m.limit) })
          } finally {
            main.pragma('shrink_memory')
          }
          return
        case 'open': {
          const db = openReader(file)
          try {
            const chunks = analyticsCsvChunks(m.period.level, createAnalyticsQueries(db).cursor(m.period))
            cursors.set(m.id, { db, chunks, ready: null })
          } catch (err) {
            db.close()
            throw err
          }
          return
        }
        case 'pull': {
          const c = cursors.get(m.id)
          if (!c) return
          const next = c.ready ?? c.chunks.next()
          c.ready = null
          // As UTF-8 bytes whose memory moves to the main thread (transferred, not copied): the main
          // thread's heap never holds the file's text, and it does not encode it either.
          const bytes = next.done ? null : encoder.encode(next.value)
          port.postMessage(
            { type: 'chunk', id: m.id, bytes, done: next.done === true } satisfies FromWorker,
            bytes ? [bytes.buffer as ArrayBuffer] : [],
          )
          if (next.done) closeCursor(m.id)
          // The next chunk now, while this one travels and is written: the two threads overlap.
          else c.ready = c.chunks.next()
          return
        }
        case 'close':
          closeCursor(m.id)
          return
      }
    } catch (err) {
      if (m.type !== 'top') closeCursor(m.id)
      fail(m.id, err)
    }
  })
}

if (parentPort && workerData?.analyticsDatabase) start(workerData.analyticsDatabase as string)
