import { createRequire } from 'node:module'
import closeWithGrace from 'close-with-grace'
import { type Config, ConfigError, loadConfig } from './config.js'
import { buildApp } from './http/app.js'
import { MemoryStore } from './store/memory.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

async function main(config: Config): Promise<void> {
  const store = new MemoryStore({ windowMs: config.WINDOW_MS, clockSkewMs: config.CLOCK_SKEW_MS })
  const app = await buildApp({ config, store, version })
  // SIGTERM / SIGINT: stop accepting, let in-flight requests finish, then exit 0.
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
    await store.close()
  })
  await app.listen({ port: config.PORT, host: config.HOST })
}

let config: Config
try {
  config = loadConfig()
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`${error.message}\n`)
  process.exit(1)
}
await main(config)
