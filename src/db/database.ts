import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import SQLite from 'better-sqlite3'
import {
  type CompiledQuery,
  type DatabaseConnection,
  Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteDialect,
  SqliteDriver,
  type Driver,
  type SqliteDialectConfig,
} from 'kysely'
import type { Database } from './schema.js'

export type DB = Kysely<Database>

export interface OpenedDatabase {
  db: DB
  sqlite: SQLite.Database
}

/**
 * How long one statement may wait for a lock held by another connection (another process: this
 * one has a single connection). better-sqlite3 is synchronous, so this wait blocks the event loop,
 * `/health` included: it must stay far below the Docker health check's 5 s. A locked database
 * answers SQLITE_BUSY after this instead, and the intake answers 503 + Retry-After (TikTok retries).
 * @see https://www.sqlite.org/c3ref/busy_timeout.html
 */
export const BUSY_TIMEOUT_MS = 25

/** Open (creating if needed) the SQLite file; ':memory:' gives a private in-memory database for tests. */
export function openDatabase(path: string): OpenedDatabase {
  if (path !== ':memory:') prepareFiles(path)
  const sqlite = new SQLite(path)
  // WAL lets readers (settings page, metrics) run while the delivery loop writes;
  // synchronous=NORMAL in WAL mode still survives a process kill (only an OS crash can lose the last commit).
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
  // Deleted and overwritten content (replaced clear tokens, purged payloads) is zeroed where that
  // costs no extra I/O, instead of lingering in free pages of the file.
  sqlite.pragma('secure_delete = FAST')
  if (path !== ':memory:') tightenSidecars(path)
  const db = new Kysely<Database>({ dialect: new AppSqliteDialect({ database: withStatementCache(sqlite) }, sqlite) })
  return { db, sqlite }
}

/**
 * The file holds tokens and leads' personal data: it is made 0600 before SQLite opens it (SQLite
 * gives the -wal and -shm files the database file's mode), and a folder we create is 0700.
 * An existing folder is tightened too when it is ours, unless it is shared on purpose (sticky,
 * like /tmp) or is the working directory.
 */
function prepareFiles(path: string): void {
  const dir = dirname(path)
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 })
  if (created) chmodSync(dir, 0o700)
  else {
    const st = statSync(dir)
    const sticky = (st.mode & 0o1000) !== 0
    if (!sticky && st.uid === process.getuid?.() && resolve(dir) !== process.cwd() && (st.mode & 0o077) !== 0)
      chmodSync(dir, 0o700)
  }
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600))
  chmodSync(path, 0o600)
}

function tightenSidecars(path: string): void {
  for (const f of [`${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600)
}

/**
 * After SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY or SQLITE_NOMEM (in a statement or in COMMIT) SQLite
 * may roll the transaction back itself. Kysely then sends ROLLBACK anyway, which fails with
 * "cannot rollback - no transaction is active", and that error replaced the real one in every log
 * ("a full disk" read as a bug in our code). Here a rollback with no open transaction is a no-op,
 * so the original error is what the caller sees; a failing rollback keeps the original as its cause.
 * @see https://www.sqlite.org/lang_transaction.html (Response To Errors Within A Transaction)
 */
class AppSqliteDriver extends SqliteDriver {
  /** the last error a statement of the current transaction threw */
  #lastError: unknown = null

  constructor(
    config: SqliteDialectConfig,
    private readonly sqlite: SQLite.Database,
  ) {
    super(config)
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const conn = await super.acquireConnection()
    return {
      executeQuery: async <R>(q: CompiledQuery): Promise<QueryResult<R>> => {
        try {
          return await conn.executeQuery<R>(q)
        } catch (err) {
          this.#lastError = err
          throw err
        }
      },
      streamQuery: (q, chunkSize) => conn.streamQuery(q, chunkSize),
    }
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    this.#lastError = null
    await super.beginTransaction(connection)
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (!this.sqlite.inTransaction) return
    try {
      await super.rollbackTransaction(connection)
    } catch (err) {
      throw this.#lastError ? Object.assign(this.#lastError as object, { rollbackError: err }) : err
    }
  }

  override async rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    // The whole transaction is gone: say why, not "no such savepoint".
    if (!this.sqlite.inTransaction && this.#lastError) throw this.#lastError
    await super.rollbackToSavepoint(connection, name, compile)
  }
}

class AppSqliteDialect extends SqliteDialect {
  constructor(
    private readonly dialectConfig: SqliteDialectConfig,
    private readonly sqlite: SQLite.Database,
  ) {
    super(dialectConfig)
  }

  override createDriver(): Driver {
    return new AppSqliteDriver(this.dialectConfig, this.sqlite)
  }
}

/** SQLite's error codes for "another connection holds the lock: try again shortly". */
export function isBusyError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
}

/** SQLite's error codes for "the disk cannot take it now" (full, I/O error, out of memory, read-only). */
export function isStorageError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|NOMEM|READONLY|CANTOPEN)/.test(code)
}

const STATEMENT_CACHE_SIZE = 500

/**
 * Kysely prepares every query anew; preparing costs as much as running the small queries the
 * intake and the dispatcher make thousands of times a second. Reuse statements by SQL text
 * (least recently used ones go first; statements are used synchronously, so sharing is safe).
 */
function withStatementCache(sqlite: SQLite.Database): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>()
  const prepare = (source: string) => {
    let stmt = cache.get(source)
    if (stmt) {
      cache.delete(source)
    } else {
      stmt = sqlite.prepare(source)
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!)
    }
    cache.set(source, stmt)
    return stmt
  }
  return new Proxy(sqlite, {
    get: (target, key) => {
      if (key === 'prepare') return prepare
      const value = Reflect.get(target, key, target)
      // native methods must be called on the real database object
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
