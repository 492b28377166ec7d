import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import type { Database } from './schema.js'

export type DB = Kysely<Database>

export interface OpenedDatabase {
  db: DB
  sqlite: SQLite.Database
}

/** Open (creating if needed) the SQLite file; ':memory:' gives a private in-memory database for tests. */
export function openDatabase(path: string): OpenedDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const sqlite = new SQLite(path)
  // WAL lets readers (settings page, metrics) run while the delivery loop writes;
  // synchronous=NORMAL in WAL mode still survives a process kill (only an OS crash can lose the last commit).
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 5000')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
  return { db, sqlite }
}
