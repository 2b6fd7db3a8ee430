/**
 * The Redis store's scripts, timed by Redis itself (not a test): INFO commandstats gives the
 * microseconds Redis spent per script call, free of network and Node, and INFO cpu the CPU time
 * Redis's process used meanwhile (the scripts, and reading the calls' arguments off the network).
 * Prints, for a fresh window:
 * a record of one transaction (2 000, one after another, each its own call), single records 64 at
 * a time (per transaction: those of a turn share a call), timestamped now and, as bench:http's POSTs
 * are, over the last 100 ms (each then mostly a millisecond of its own), the former with a flush
 * interval of 5 ms,
 * a batch of 1 000 spread over a second and one of live transactions (per transaction), a snapshot of the
 * 60 s window (200; its cost does not depend on what the window holds) and the same once four
 * writers have written it (each keeps a partition, and a snapshot reads them all), each the median of
 * BENCH_ROUNDS rounds. With QUANTILES=true, the scripts keep quantile sketches, and a snapshot with
 * three quantiles (whose cost grows with the distinct amounts per block) is timed too, and the
 * memory Redis gives one writer's sketches (MEMORY USAGE of their hashes) against what the budget
 * charges for them (the core's measure), for 200 000 amounts spread over a minute, in batches
 * spread over a second and in batches within 5 ms.
 *
 * With DIMENSIONS=currency,merchant, every transaction carries a currency (of 10) and a merchant
 * (of 1 000), and a merchant's read and a breakdown of the merchants are timed too.
 *
 * Run: npm run bench:redis   (REDIS_URL, default redis://127.0.0.1:6379; BENCH_ROUNDS=5;
 * QUANTILES=true; DIMENSIONS=currency,merchant)
 */
import { Redis } from 'ioredis'
import { keepQuantiles } from '../src/core/quantiles/window-quantiles.js'
import { RollingWindow } from '../src/core/window/window.js'
import { connectRedis } from '../src/store/redis/client.js'
import { RedisStore } from '../src/store/redis/store.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
/** Without sketches, as the service runs on Redis unless QUANTILES=true; with them when it is. */
const quantiles = process.env.QUANTILES === 'true' ? {} : (false as const)
const dimensions = (process.env.DIMENSIONS ?? '').split(',').filter((name) => name !== '')
const admin = new Redis(REDIS_URL)

/** The i-th transaction at a timestamp, with its labels when dimensions are measured. */
function tx(i: number, timestamp: number) {
  if (dimensions.length === 0) return { amount: amount(i), timestamp }
  return { amount: amount(i), timestamp, currency: `C${i % 10}`, merchant: `m-${i % 1_000}` }
}

/** Microseconds per script call since the last reset. */
async function usPerCall(): Promise<number> {
  const info = await admin.info('commandstats')
  const match = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(info)
  return match ? Number(match[2]) / Number(match[1]) : Number.NaN
}

/** Script calls since the last reset. */
async function calls(): Promise<number> {
  const info = await admin.info('commandstats')
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? Number.NaN)
}

/** Redis's CPU time so far (INFO cpu: user and system), in µs. */
async function cpuUs(): Promise<number> {
  const info = await admin.info('cpu')
  const seconds = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1])
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6
}

/** The CPU time Redis used during the last timed work, in µs. */
let lastCpuUs = 0

async function timed(work: () => Promise<unknown>): Promise<number> {
  await admin.config('RESETSTAT')
  const before = await cpuUs()
  await work()
  lastCpuUs = (await cpuUs()) - before
  return usPerCall()
}

const amount = (i: number) => ((i * 7919) % 100_000) / 100
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? NaN

const figures = {
  single: [] as number[],
  concurrent: [] as number[],
  concurrentCpu: [] as number[],
  concurrentP50: [] as number[],
  recent: [] as number[],
  recentCpu: [] as number[],
  recentP50: [] as number[],
  flushed: [] as number[],
  flushedCpu: [] as number[],
  flushedP50: [] as number[],
  batch: [] as number[],
  batchCpu: [] as number[],
  liveBatch: [] as number[],
  liveBatchCpu: [] as number[],
  snapshot: [] as number[],
  snapshotWriters: [] as number[],
  withQuantiles: [] as number[],
  value: [] as number[],
  breakdown: [] as number[],
}
/** Transactions recorded by 64 concurrent single POSTs, as a loaded service does. */
const CONCURRENT = 20_000
/** The span of the single records' timestamps in bench:http's POSTs (bench/load.lua). */
const RECENT_MS = 100
/** Writers of the window when a snapshot is timed again, each with its partition. */
const WRITERS = 4
/** The flush interval measured against none (REDIS_FLUSH_MS). */
const FLUSH_MS = 5

/**
 * 64 callers recording one transaction at a time, timestamps of now: Redis's time per transaction
 * and the median time a caller waits for its answer.
 */
async function concurrentSingles(
  store: RedisStore,
  /** Timestamps over the last spreadMs ms, as bench/load.lua sends them; 1: all of now. */
  spreadMs = 1,
): Promise<{ usPerTx: number; cpuPerTx: number; p50Ms: number }> {
  const waits: number[] = []
  const usPerCallNow = await timed(async () => {
    let next = 0
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < CONCURRENT) {
          const i = next++
          const started = performance.now()
          await store.record([tx(i, Date.now() - (i % spreadMs))])
          waits.push(performance.now() - started)
        }
      }),
    )
  })
  return {
    usPerTx: (usPerCallNow * (await calls())) / CONCURRENT,
    cpuPerTx: lastCpuUs / CONCURRENT,
    p50Ms: median(waits),
  }
}
for (let round = 0; round < ROUNDS; round++) {
  const client = connectRedis({ url: REDIS_URL, cluster: false, timeoutMs: 10_000 })
  const prefix = `bench:scripts:${Date.now()}:`
  const store = new RedisStore({ client, prefix, quantiles, dimensions })
  await store.connect({ info() {}, warn() {} })
  if (!store.ready()) throw new Error(`no Redis answers at ${REDIS_URL}`)
  await store.record([{ amount: 1, timestamp: Date.now() }]) // loads the script
  // One after another: concurrent records would share script calls (see batch-writes.ts).
  figures.single.push(
    await timed(async () => {
      for (let i = 0; i < 2_000; i++) {
        await store.record([tx(i, Date.now() - (i % 100))])
      }
    }),
  )
  // 64 at a time, timestamps of now: the writes of a turn share a script call (batch-writes.ts).
  const singles = await concurrentSingles(store)
  figures.concurrent.push(singles.usPerTx)
  figures.concurrentCpu.push(singles.cpuPerTx)
  figures.concurrentP50.push(singles.p50Ms)
  const recent = await concurrentSingles(store, RECENT_MS)
  figures.recent.push(recent.usPerTx)
  figures.recentCpu.push(recent.cpuPerTx)
  figures.recentP50.push(recent.p50Ms)
  const flushing = new RedisStore({
    client: connectRedis({ url: REDIS_URL, cluster: false, timeoutMs: 10_000 }),
    prefix: `bench:scripts:${Date.now()}:flush:`,
    flushMs: FLUSH_MS,
    quantiles,
    dimensions,
  })
  await flushing.connect({ info() {}, warn() {} })
  const flushed = await concurrentSingles(flushing)
  figures.flushed.push(flushed.usPerTx)
  figures.flushedCpu.push(flushed.cpuPerTx)
  figures.flushedP50.push(flushed.p50Ms)
  await flushing.close()
  const perBatch = await timed(async () => {
    for (let b = 0; b < 10; b++) {
      const now = Date.now()
      await store.record(Array.from({ length: 1_000 }, (_, k) => tx(k, now - (k % 1000))))
    }
  })
  figures.batch.push(perBatch / 1_000)
  figures.batchCpu.push(lastCpuUs / 10_000)
  // Live transactions batched by a client: their timestamps are within the last few ms.
  const perLiveBatch = await timed(async () => {
    for (let b = 0; b < 10; b++) {
      const now = Date.now()
      await store.record(Array.from({ length: 1_000 }, (_, k) => tx(k, now - (k % 5))))
    }
  })
  figures.liveBatch.push(perLiveBatch / 1_000)
  figures.liveBatchCpu.push(lastCpuUs / 10_000)
  figures.snapshot.push(
    await timed(async () => {
      for (let i = 0; i < 200; i++) await store.statistics()
    }),
  )
  if (quantiles) {
    figures.withQuantiles.push(
      await timed(async () => {
        for (let i = 0; i < 200; i++) await store.statistics({ quantiles: [0.5, 0.9, 0.99] })
      }),
    )
  }
  if (dimensions.length > 0) {
    const dimensionValue = (i: number) => ({ dimension: 'merchant', value: `m-${i % 1_000}` })
    figures.value.push(
      await timed(async () => {
        for (let i = 0; i < 200; i++) await store.statistics({ dimensionValue: dimensionValue(i) })
      }),
    )
    const query = { dimension: 'merchant', order: 'sum' as const, limit: 10 }
    figures.breakdown.push(
      await timed(async () => {
        for (let i = 0; i < 5; i++) await store.breakdown(query)
      }),
    )
  }
  // Three more writers (each a process of its own would be): each keeps a partition of the
  // window, and a snapshot reads every partition.
  const others = Array.from(
    { length: WRITERS - 1 },
    () =>
      new RedisStore({
        client: connectRedis({ url: REDIS_URL, cluster: false, timeoutMs: 10_000 }),
        prefix,
        quantiles,
        dimensions,
      }),
  )
  for (const other of others) {
    await other.connect({ info() {}, warn() {} })
    const now = Date.now()
    await other.record(Array.from({ length: 1_000 }, (_, k) => tx(k, now - ((k * 59) % 59_000))))
  }
  figures.snapshotWriters.push(
    await timed(async () => {
      for (let i = 0; i < 200; i++) await store.statistics()
    }),
  )
  for (const other of others) await other.close()
  await store.close()
}
/**
 * One writer's sketch hashes in Redis (MEMORY USAGE) against what the budget charges for the same
 * amounts (the core's window), in MiB: 200 batches of 1 000 scattered amounts over 59 s, each
 * batch's timestamps spread over `spreadMs`.
 */
async function sketchMemory(spreadMs: number): Promise<{ redis: number; charged: number }> {
  const start = 1_700_000_000_000
  let now = start
  const prefix = `bench:scripts:${Date.now()}:memory:`
  const store = new RedisStore({
    client: connectRedis({ url: REDIS_URL, cluster: false, timeoutMs: 10_000 }),
    prefix,
    quantiles: {},
    clock: () => now,
  })
  await store.connect({ info() {}, warn() {} })
  const core = new RollingWindow({ clock: () => now, quantiles: keepQuantiles() })
  // Scattered amounts of up to a million, the same every run (Knuth's multiplicative hash).
  const scatter = (i: number, range: number) => (i * 2_654_435_761) % range
  for (let b = 0; b < 200; b++) {
    now = start + b * 295
    const batch = Array.from({ length: 1_000 }, (_, k) => ({
      amount: scatter(b * 1_000 + k, 100_000_000) / 100,
      timestamp: now - scatter(b * 1_000 + k + 1, spreadMs),
    }))
    for (const { amount, timestamp } of batch) core.record(amount, timestamp)
    await store.record(batch)
  }
  let bytes = 0
  let cursor = '0'
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*:q*`, 'COUNT', 1_000)
    for (const key of keys) bytes += Number(await admin.memory('USAGE', key, 'SAMPLES', 0))
    cursor = next
  } while (cursor !== '0')
  await store.close()
  return { redis: bytes / 2 ** 20, charged: core.quantileBytes / 2 ** 20 }
}
const memory = quantiles ? [await sketchMemory(1_000), await sketchMemory(5)] : []
admin.disconnect()

const fmt = (n: number) => n.toFixed(1).padStart(7)
console.log(
  `Redis time per script call (INFO commandstats), median of ${ROUNDS} rounds, quantiles ${quantiles ? 'on' : 'off'}, dimensions ${dimensions.join(',') || 'none'}`,
)
console.log(`record, one transaction       ${fmt(median(figures.single))} µs`)
console.log('per transaction                script    CPU')
const perTx = (dimensionValue: string, script: number[], cpu: number[], note: string) =>
  console.log(`${dimensionValue.padEnd(29)}${fmt(median(script))} ${fmt(median(cpu))} µs  ${note}`)
perTx(
  'record, 64 concurrent singles',
  figures.concurrent,
  figures.concurrentCpu,
  `(answered in ${median(figures.concurrentP50).toFixed(2)} ms, p50)`,
)
perTx(
  `  the same over ${RECENT_MS} ms`,
  figures.recent,
  figures.recentCpu,
  `(answered in ${median(figures.recentP50).toFixed(2)} ms, p50)`,
)
perTx(
  `  the same, REDIS_FLUSH_MS=${FLUSH_MS}`,
  figures.flushed,
  figures.flushedCpu,
  `(answered in ${median(figures.flushedP50).toFixed(2)} ms, p50)`,
)
perTx('record, batch of 1 000', figures.batch, figures.batchCpu, '(timestamps over 1 s)')
perTx(
  'record, batch of 1 000 live',
  figures.liveBatch,
  figures.liveBatchCpu,
  '(timestamps within 5 ms)',
)
console.log(`snapshot of a 60 s window    ${fmt(median(figures.snapshot))} µs`)
console.log(
  `  the same, ${WRITERS} writers        ${fmt(median(figures.snapshotWriters))} µs (a partition each: a snapshot reads them all)`,
)
if (quantiles) {
  console.log(
    `  the same with 3 quantiles   ${fmt(median(figures.withQuantiles))} µs (the window holds the records above)`,
  )
}
for (const [k, { redis, charged }] of memory.entries()) {
  console.log(
    `sketch memory in Redis     ${fmt(redis)} MiB of ${charged.toFixed(1)} charged (${((100 * redis) / charged).toFixed(0)} %; 200 000 amounts over 59 s, batches within ${k === 0 ? '1 s' : '5 ms'})`,
  )
}
if (dimensions.length > 0) {
  console.log(`a merchant's statistics      ${fmt(median(figures.value))} µs`)
  console.log(
    `breakdown of the merchants   ${fmt(median(figures.breakdown))} µs (1 000 tracked, the window holds the records above)`,
  )
}
