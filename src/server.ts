// First: the warm-up must run before any other module's code (see the module).
import './tick-queue-warm-up.js'
import cluster from 'node:cluster'
import { createRequire } from 'node:module'
import closeWithGrace from 'close-with-grace'
import { type Config, ConfigError, loadConfig } from './config.js'
import { buildApp } from './http/app.js'
import { NatsIngest } from './ingest/nats.js'
import { submitThrough } from './ingest/submit.js'
import { createStore } from './store/create.js'
import { StoreSettingsError } from './store/store.js'
import { SHUTDOWN, superviseWorkers } from './workers.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

async function main(config: Config): Promise<void> {
  const store = createStore(config)
  const ingest = config.INGEST_NATS_URL === '' ? undefined : natsIngest(config)
  const app = await buildApp({ config, store, version, ingest })
  // Listening only after the first attempt: a start with Redis up is ready on its first request.
  try {
    await store.connect(app.log)
  } catch (error) {
    // A window kept with other settings: serving it would corrupt it (StoreSettingsError).
    if (!(error instanceof StoreSettingsError)) throw error
    process.stderr.write(`${error.message}\n`)
    process.exit(1)
  }
  // SIGTERM / SIGINT: stop accepting, let in-flight requests finish, then exit 0.
  const { close } = closeWithGrace(
    { delay: 10_000, skip: cluster.isWorker ? ['SIGTERM', 'SIGINT'] : [] },
    async ({ signal, err }) => {
      if (err) app.log.error({ err }, 'shutting down after an error')
      else app.log.info({ signal: signal ?? 'from the primary' }, 'shutting down')
      await ingest?.stop()
      await app.close()
      await store.close()
    },
  )
  if (cluster.isWorker) closeWhenThePrimaryAsks(close)
  if (!isLoopback(config.HOST) && config.apiKeys.length === 0) {
    app.log.warn(
      { host: config.HOST },
      'listening beyond this machine without API_KEYS: anyone who can reach it can write and delete transactions',
    )
  }
  await app.listen({ port: config.PORT, host: config.HOST })
  // Every process (each of WORKERS) pulls from the one durable consumer: JetStream hands each
  // message to one of them, and its idempotency key makes a second delivery a replay.
  await ingest?.start(submitThrough(app, config.apiKeys[0]), app.log)
}

function natsIngest(config: Config): NatsIngest {
  return new NatsIngest({
    url: config.INGEST_NATS_URL,
    stream: config.INGEST_STREAM,
    subjects: config.INGEST_SUBJECTS.split(',').map((subject) => subject.trim()),
    durable: config.INGEST_DURABLE,
    batch: config.INGEST_BATCH,
    deadLetterSubject: config.INGEST_DEAD_LETTER_SUBJECT,
  })
}

/**
 * A worker shuts down gracefully when the primary asks (once), and ignores signals: a terminal's
 * Ctrl-C or a supervisor signals every process of the group, and a second signal would cut
 * close-with-grace's graceful shutdown short. (A worker whose primary is gone exits: node:cluster.)
 */
function closeWhenThePrimaryAsks(close: () => unknown): void {
  let closing = false
  process.on('SIGTERM', () => {})
  process.on('SIGINT', () => {})
  process.on('message', (message) => {
    if (message !== SHUTDOWN || closing) return
    closing = true
    close()
  })
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
