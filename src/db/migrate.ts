import { Migrator, type MigrationResultSet } from 'kysely'
import { migrations } from '../../migrations/index.js'
import type { DB } from './database.js'

export class MigrationError extends Error {
  constructor(
    readonly results: MigrationResultSet['results'],
    cause: unknown,
  ) {
    super(`Database migration failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    this.name = 'MigrationError'
  }
}

export function createMigrator(db: DB): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } })
}

/** Bring the schema up to date; a failure stops start-up (the Migrator returns errors instead of throwing). */
export async function migrateToLatest(db: DB): Promise<string[]> {
  const { error, results } = await createMigrator(db).migrateToLatest()
  if (error) throw new MigrationError(results, error)
  return (results ?? []).map((r) => r.migrationName)
}

/** True when every known migration has been applied. */
export async function isSchemaCurrent(db: DB): Promise<boolean> {
  const applied = await createMigrator(db).getMigrations()
  return applied.every((m) => m.executedAt !== undefined)
}
