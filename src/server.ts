import cluster from 'node:cluster'
import { createRequire } from 'node:module'
import closeWithGrace from 'close-with-grace'
import { type Config, ConfigError, loadConfig } from './config.js'
import { buildApp } from './http/app.js'
import { createStore } from './store/create.js'
import { RedisStore } from './store/redis/store.js'
import { superviseWorkers } from './workers.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

async function main(config: Config): Promise<void> {
  const store = createStore(config)
  const app = await buildApp({ config, store, version })
  if (store instanceof RedisStore) store.connect(app.log)
  // SIGTERM / SIGINT: stop accepting, let in-flight requests finish, then exit 0. A worker
  // leaves SIGINT (which a terminal's Ctrl-C sends to every process) to the primary, which
  // passes it on as one SIGTERM: a second signal would cut the graceful shutdown short.
  if (cluster.isWorker) process.on('SIGINT', () => {})
  closeWithGrace(
    { delay: 10_000, skip: cluster.isWorker ? ['SIGINT'] : [] },
    async ({ signal, err }) => {
      if (err) app.log.error({ err }, 'shutting down after an error')
      else app.log.info({ signal }, 'shutting down')
      await app.close()
      await store.close()
    },
  )
  if (!isLoopback(config.HOST) && config.apiKeys.length === 0) {
    app.log.warn(
      { host: config.HOST },
      'listening beyond this machine without API_KEYS: anyone who can reach it can write and delete transactions',
    )
  }
  await app.listen({ port: config.PORT, host: config.HOST })
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}

let config: Config
try {
  config = loadConfig()
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`${error.message}\n`)
  process.exit(1)
}
if (config.WORKERS > 1 && cluster.isPrimary) superviseWorkers(config.WORKERS)
else await main(config)
