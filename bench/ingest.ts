/**
 * NATS ingest benchmark (not a test): transactions per second through JetStream into the service,
 * against POST /transactions/batch of the same data in the same run, on the memory store and on
 * Redis, and the HTTP GET p99 while ingest runs. Prints figures.
 *
 * Run: npm run bench:ingest   (BENCH_MESSAGES=2000 messages of BENCH_BATCH=500 transactions;
 * NATS_URL and REDIS_URL as for the tests). Needs wrk (apt-get install wrk) for the GET load.
 */
import { spawnSync } from 'node:child_process'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { ServiceProcess } from '../test/support/processes.js'

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2_000)
const BATCH = Number(process.env.BENCH_BATCH ?? 500)

function bodies(): string[] {
  const now = Date.now()
  return Array.from({ length: MESSAGES }, (_, i) => {
    const items = Array.from(
      { length: BATCH },
      (_, k) =>
        `{"amount":${((i * 7919 + k * 131) % 100_000) / 100},"timestamp":${now - (k % 1000)}}`,
    )
    return `[${items.join(',')}]`
  })
}

async function count(port: number): Promise<number> {
  return ((await (await fetch(`http://127.0.0.1:${port}/statistics`)).json()) as { count: number })
    .count
}

/** Batches POSTed over 8 connections: transactions per second. */
async function viaHttp(port: number, texts: readonly string[]): Promise<number> {
  const started = performance.now()
  let next = 0
  const worker = async () => {
    while (next < texts.length) {
      const body = texts[next++] as string
      const response = await fetch(`http://127.0.0.1:${port}/transactions/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      await response.arrayBuffer()
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  return (texts.length * BATCH) / ((performance.now() - started) / 1000)
}

/** The same batches published to the stream: transactions per second stored, and GET p99 meanwhile. */
async function viaNats(port: number, texts: readonly string[], stream: string, subject: string) {
  const before = await count(port)
  const started = performance.now()
  // Published and consumed at once, as on a bus: the rate is end to end.
  const connection = await connect({ servers: NATS_URL })
  const js = jetstream(connection)
  await Promise.all(texts.map((text) => js.publish(subject, text)))
  await connection.close()
  const get = spawnSync(
    'wrk',
    ['-t1', '-c8', '-d2s', '--latency', `http://127.0.0.1:${port}/statistics`],
    { encoding: 'utf8' },
  )
  const p99 = /99%\s+([\d.]+)(\w+)/.exec(get.stdout ?? '')
  while ((await count(port)) - before < texts.length * BATCH) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const rate = (texts.length * BATCH) / ((performance.now() - started) / 1000)
  const manager = await jetstreamManager(await connect({ servers: NATS_URL }))
  await manager.streams.delete(stream)
  return { rate, p99: p99 ? `${p99[1]} ${p99[2]}` : 'n/a (no wrk)' }
}

async function run(store: 'memory' | 'redis'): Promise<void> {
  const stream = `BENCH_${store.toUpperCase()}_${Date.now()}`
  const subject = `${stream}.in`
  const service = new ServiceProcess({
    LOG_LEVEL: 'info',
    STORE: store,
    REDIS_URL,
    REDIS_PREFIX: `bench:ingest:${Date.now()}:`,
    INGEST_NATS_URL: NATS_URL,
    INGEST_STREAM: stream,
    INGEST_SUBJECTS: `${stream}.>`,
  })
  try {
    const port = await service.listening()
    for (let i = 0; i < 50; i++) {
      if ((await fetch(`http://127.0.0.1:${port}/ready`)).status === 200) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const http = await viaHttp(port, bodies())
    const nats = await viaNats(port, bodies(), stream, subject)
    console.log(
      `${store}: POST /transactions/batch ${Math.round(http).toLocaleString('en-US')} transactions/s; through JetStream ${Math.round(nats.rate).toLocaleString('en-US')}/s (${((100 * nats.rate) / http).toFixed(1)} % of the batch route); GET p99 while ingesting ${nats.p99}`,
    )
  } finally {
    await service.stop()
  }
}

console.log(
  `${MESSAGES} messages of ${BATCH} transactions, each way; one service process, its own stream`,
)
for (const store of ['memory', 'redis'] as const) await run(store)
