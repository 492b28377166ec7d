import { Readable } from 'node:stream'
import { Worker } from 'node:worker_threads'
import type SQLite from 'better-sqlite3'
import { type AnalyticsPeriod, type AnalyticsTop, createAnalyticsQueries } from '../db/repositories/analytics.js'
import { analyticsCsvChunks } from './export.js'
import type { FromWorker, ToWorker } from './worker.js'

/**
 * Where the analytics queries run. better-sqlite3 is synchronous: a query over a million leads
 * run on the main thread held every request for its whole second (TikTok's webhooks, Bitrix24's
 * events, /health). For a database file they run in a worker thread (worker.ts) on read-only
 * connections of its own, and the CSV comes back in chunks, one asked for each time the download
 * wants more (backpressure: a slow reader holds one chunk, not the file).
 *
 * An in-memory database (`:memory:`, what most tests use) is private to its connection and
 * cannot be opened from another thread: there the queries run in-thread on the app's connection,
 * as before, and the CSV's rows are read at once (a cursor left open would block that connection).
 * Tests that need the worker open a database file (test/helpers.ts tempDbPath).
 *
 * The worker starts on first use and stops after `idleMs` without work (its connections and
 * page cache go with it); it never keeps the process alive. If it dies, what was in flight fails
 * and the next query starts a new one.
 */
export interface AnalyticsRunner {
  /** The first `limit` groups of the period and the totals over all of them. */
  top(p: AnalyticsPeriod, limit: number): Promise<AnalyticsTop>
  /** The CSV download (BOM, header, every group in order) as a byte stream read at the reader's pace. */
  csv(p: AnalyticsPeriod): Readable
  /** Whether the queries leave the main thread (a database file). */
  readonly offThread: boolean
  close(): Promise<void>
}

export interface RunnerOptions {
  /** stop the worker after this long without work (default 60 s) */
  idleMs?: number
}

/** The worker's script beside this file: worker.js when built, worker.ts under tsx (tests, bench). */
function workerScript(): { url: URL; ts: boolean } {
  const ts = import.meta.url.endsWith('.ts')
  return { url: new URL(ts ? './worker.ts' : './worker.js', import.meta.url), ts }
}

function spawn(file: string): Worker {
  const { url, ts } = workerScript()
  const workerData = { analyticsDatabase: file }
  if (!ts) return new Worker(url, { workerData })
  // Node 20 does not run a worker's .ts entry through the parent's tsx loader: a module entry
  // registers tsx first, then imports it (only when running the sources, where tsx is installed).
  const boot = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}
register()
await import(${JSON.stringify(url.href)})`
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData })
}

/** A worker's error as an Error with SQLite's code (SQLITE_BUSY …), as the app's connection throws it. */
function workerError(m: { message: string; code: string | null }): Error {
  return Object.assign(new Error(m.message), m.code ? { code: m.code } : {})
}

export function createAnalyticsRunner(sqlite: SQLite.Database, opts: RunnerOptions = {}): AnalyticsRunner {
  if (sqlite.memory) return inThread(sqlite)
  return onWorker(sqlite.name, opts.idleMs ?? 60_000)
}

function inThread(sqlite: SQLite.Database): AnalyticsRunner {
  const queries = createAnalyticsQueries(sqlite)
  return {
    offThread: false,
    async top(p, limit) {
      return queries.top(p, limit)
    },
    csv(p) {
      const rows = [...queries.cursor(p)]
      return Readable.from(analyticsCsvChunks(p.level, rows.values()), { objectMode: false })
    },
    async close() {},
  }
}

function onWorker(file: string, idleMs: number): AnalyticsRunner {
  let worker: Worker | null = null
  let nextId = 1
  let idle: NodeJS.Timeout | null = null
  const tops = new Map<number, { resolve: (t: AnalyticsTop) => void; reject: (e: Error) => void }>()
  const streams = new Map<
    number,
    { onChunk: (bytes: Uint8Array | null, done: boolean) => void; onError: (e: Error) => void }
  >()

  const busy = () => tops.size + streams.size > 0
  function touch(): void {
    if (idle) clearTimeout(idle)
    idle = null
    if (!busy() && worker) {
      idle = setTimeout(() => {
        idle = null
        if (!busy()) stop()
      }, idleMs)
      idle.unref()
    }
  }

  function stop(): void {
    const w = worker
    worker = null
    if (w) void w.terminate()
  }

  /** Everything in flight fails: the worker died or the runner closed. */
  function failAll(err: Error): void {
    for (const t of tops.values()) t.reject(err)
    tops.clear()
    for (const s of streams.values()) s.onError(err)
    streams.clear()
  }

  function ensure(): Worker {
    if (worker) return worker
    const w = spawn(file)
    w.unref()
    w.on('message', (m: FromWorker) => {
      if (m.type === 'top') {
        tops.get(m.id)?.resolve(m.result)
        tops.delete(m.id)
      } else if (m.type === 'chunk') {
        streams.get(m.id)?.onChunk(m.bytes, m.done)
        if (m.done) streams.delete(m.id)
      } else {
        const err = workerError(m)
        const t = tops.get(m.id)
        if (t) t.reject(err)
        streams.get(m.id)?.onError(err)
        tops.delete(m.id)
        streams.delete(m.id)
      }
      touch()
    })
    w.on('error', (err) => {
      if (worker === w) worker = null
      failAll(err)
    })
    w.on('exit', (code) => {
      if (worker === w) worker = null
      if (busy()) failAll(new Error(`the analytics worker stopped (exit code ${code})`))
    })
    worker = w
    return w
  }

  const post = (m: ToWorker) => ensure().postMessage(m)

  return {
    offThread: true,

    top(p, limit) {
      const id = nextId++
      return new Promise<AnalyticsTop>((resolve, reject) => {
        tops.set(id, { resolve, reject })
        touch()
        post({ type: 'top', id, period: p, limit })
      })
    },

    csv(p) {
      const id = nextId++
      let waiting = false
      let open = false
      const stream = new Readable({
        highWaterMark: 64 * 1024,
        read() {
          if (waiting) return
          waiting = true
          if (!open) {
            open = true
            streams.set(id, {
              onChunk: (bytes, done) => {
                waiting = false
                if (bytes) stream.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
                if (done) stream.push(null)
              },
              onError: (err) => stream.destroy(err),
            })
            touch()
            post({ type: 'open', id, period: p })
          }
          post({ type: 'pull', id })
        },
        destroy(err, cb) {
          // The download went away (or failed): the worker closes the cursor and its connection.
          if (streams.delete(id) && worker) worker.postMessage({ type: 'close', id } satisfies ToWorker)
          touch()
          cb(err)
        },
      })
      return stream
    },

    async close() {
      if (idle) clearTimeout(idle)
      idle = null
      failAll(new Error('the analytics runner closed'))
      const w = worker
      worker = null
      if (w) await w.terminate()
    },
  }
}
