/**
 * The database was created with the process umask (0644 here) in a 0755 folder: any local user
 * could read every portal's tokens and every lead's personal data. The file (and SQLite's -wal and
 * -shm files, which take its mode) is now created 0600 and its folder 0700; an existing file with
 * a loose mode is tightened at open. secrets.key was already 0600.
 */
import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { secretBoxFor } from '../../src/crypto/secret-box.js'

const mode = (p: string) => statSync(p).mode & 0o777

t.test('a new database file is 0600 in a 0700 folder, -wal and secrets.key included', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'b24tl-modes-')), 'data')
  const path = join(dir, 'app.sqlite')
  const { db, sqlite } = openDatabase(path)
  t.teardown(() => db.destroy())
  await migrateToLatest(db)
  secretBoxFor(undefined, path)
  t.equal(mode(dir).toString(8), '700', 'folder')
  t.equal(mode(path).toString(8), '600', 'database file')
  t.equal(mode(`${path}-wal`).toString(8), '600', 'WAL file')
  t.equal(mode(`${path}-shm`).toString(8), '600', 'shared-memory file')
  t.equal(mode(join(dir, 'secrets.key')).toString(8), '600', 'key file')
  t.equal(sqlite.pragma('journal_mode', { simple: true }), 'wal')
})

t.test('an existing world-readable database and folder are tightened at open', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'b24tl-modes-'))
  chmodSync(dir, 0o755)
  const path = join(dir, 'app.sqlite')
  writeFileSync(path, '')
  chmodSync(path, 0o644)
  const { db } = openDatabase(path)
  t.teardown(() => db.destroy())
  await migrateToLatest(db)
  t.equal(mode(path).toString(8), '600')
  t.equal(mode(dir).toString(8), '700')
})
