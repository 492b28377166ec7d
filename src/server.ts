import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { buildApp } from './app.js'
import { ConfigError, configWarnings, loadConfig } from './config.js'
import { openDatabase } from './db/database.js'
import { migrateToLatest } from './db/migrate.js'
import { loggerOptions } from './logger.js'
import { WebBuildMissing } from './settings/web-entry.js'

async function main(): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(78) // EX_CONFIG
    }
    throw err
  }
  const opts = loggerOptions(config.LOG_LEVEL)
  const log = pino(opts)
  for (const w of configWarnings(config)) log.warn(w)

  const database = openDatabase(config.DATABASE_PATH)
  const applied = await migrateToLatest(database.db)
  if (applied.length) log.info({ applied }, 'migrations applied')

  const app = await buildApp({ config, database, loggerInstance: log })
  closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
    if (err) app.log.error({ err }, 'closing after error')
    else app.log.info({ signal }, 'closing')
    await app.close()
  })
  await app.listen({ host: config.HOST, port: config.PORT })
}

main().catch((err) => {
  // A setup step left out (the tab not built) is one line saying what to run, not a stack.
  console.error(err instanceof WebBuildMissing ? err.message : err)
  process.exit(1)
})
