/**
 * Redis's instructions per transaction in the record script, counted by valgrind's callgrind on a
 * redis-server of its own (default settings): the figure that stays put when the machine's pace
 * does not, where bench:redis times the same calls and swings with the machine. For this checkout
 * and each baseline, with the features QUANTILES and DIMENSIONS ask (as bench:redis takes them),
 * each on a fresh window warmed by 300 records, it counts:
 * - single records, one call each: what a call costs whatever it carries;
 * - 64 concurrent single records stamped over the last 100 ms, as bench:http's POSTs are (those of
 *   a turn share a call: the calls per transaction are printed, and must match between targets
 *   for their figures to compare);
 * - batches of 1 000 stamped over a second.
 *
 * Run: npm run bench:redis:instructions   (BENCH_BASELINE=/path/to/built/checkout[,…];
 * QUANTILES=true; DIMENSIONS=currency,merchant). Needs valgrind and redis-server.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Redis } from 'ioredis'
import { freePort } from '../test/support/processes.js'
import { callgrindAvailable, callgrindControl, dumpedInstructions, HOST } from './instructions.js'

const quantiles = process.env.QUANTILES === 'true' ? {} : (false as const)
const dimensions = (process.env.DIMENSIONS ?? '').split(',').filter((name) => name !== '')
/** This checkout, built, then the baselines: built checkouts of the service. */
const TARGETS = ['.', ...(process.env.BENCH_BASELINE ?? '').split(',').filter((p) => p !== '')]

const WARM = 300
const SCENARIOS = {
  'one transaction per call': { transactions: 300, concurrency: 1, batch: 1, spreadMs: 100 },
  '64 concurrent singles over 100 ms': {
    transactions: 3_000,
    concurrency: 64,
    batch: 1,
    spreadMs: 100,
  },
  'batches of 1 000 over 1 s': {
    transactions: 5_000,
    concurrency: 1,
    batch: 1_000,
    spreadMs: 1_000,
  },
}
type Scenario = (typeof SCENARIOS)[keyof typeof SCENARIOS]

const amount = (i: number) => ((i * 7919) % 100_000) / 100
function tx(i: number, timestamp: number) {
  if (dimensions.length === 0) return { amount: amount(i), timestamp }
  return { amount: amount(i), timestamp, currency: `C${i % 10}`, merchant: `m-${i % 1_000}` }
}

interface Store {
  connect(log: { info(): void; warn(): void }): Promise<void> | void
  ready(): Promise<boolean>
  record(transactions: object[]): Promise<unknown>
  close(): Promise<void>
}

/** Opens a Redis store of the checkout at `dir`, as built, on a fresh window. */
async function openStore(dir: string, url: string): Promise<Store> {
  const built = (file: string) => pathToFileURL(resolve(dir, 'dist/store/redis', file)).href
  const { connectRedis } = await import(built('client.js'))
  const { RedisStore } = await import(built('store.js'))
  const store: Store = new RedisStore({
    client: connectRedis({ url, cluster: false, timeoutMs: 120_000 }),
    prefix: `bench:instructions:${Date.now()}:${Math.random()}:`,
    quantiles,
    dimensions,
  })
  await store.connect({ info() {}, warn: (...args: unknown[]) => console.error(...args) })
  if (!(await store.ready())) throw new Error(`no Redis answers at ${url}`)
  return store
}

/** Records the scenario's transactions from `first` on, `concurrency` callers at a time. */
async function run(store: Store, scenario: Scenario, first: number): Promise<void> {
  let next = 0
  const caller = async () => {
    while (next < scenario.transactions) {
      const at = next
      next += scenario.batch
      const now = Date.now()
      const batch = Array.from({ length: scenario.batch }, (_, k) =>
        tx(first + at + k, now - ((at + k) % scenario.spreadMs)),
      )
      await store.record(batch)
    }
  }
  await Promise.all(Array.from({ length: scenario.concurrency }, caller))
}

if (!callgrindAvailable()) {
  console.error('valgrind is not installed (apt-get install valgrind)')
  process.exit(1)
}
const port = await freePort()
const folder = mkdtempSync(join(tmpdir(), 'txstats-redis-callgrind-'))
const server: ChildProcess = spawn(
  'valgrind',
  [
    '--tool=callgrind',
    `--callgrind-out-file=${join(folder, 'counts')}`,
    'redis-server',
    '--port',
    String(port),
    '--bind',
    HOST,
    '--save',
    '',
    '--appendonly',
    'no',
    // Setting its title, Redis writes over its environment, where valgrind looks for the HOST
    // that callgrind_control is given (see bench/instructions.ts).
    '--set-proc-title',
    'no',
  ],
  { env: { ...process.env, HOST }, stdio: process.env.DEBUG_REDIS ? 'inherit' : 'ignore' },
)
const url = `redis://${HOST}:${port}`
// Under callgrind Redis takes seconds to start: the admin client retries until it answers.
const admin = new Redis(url, { retryStrategy: () => 200, maxRetriesPerRequest: null })
admin.on('error', () => {})
try {
  await admin.ping()
  console.log(
    `Redis instructions per transaction (callgrind), quantiles ${quantiles ? 'on' : 'off'}, dimensions ${dimensions.join(',') || 'none'}`,
  )
  const width = Math.max(...TARGETS.map((t) => t.length))
  console.log(
    `${'target'.padEnd(width)}  ${Object.keys(SCENARIOS)
      .map((name) => name.padStart(36))
      .join('')}`,
  )
  let part = 0
  for (const target of TARGETS) {
    const cells: string[] = []
    for (const scenario of Object.values(SCENARIOS)) {
      const store = await openStore(target, url)
      for (let i = 0; i < WARM; i++) await store.record([tx(i, Date.now() - (i % 100))])
      await admin.config('RESETSTAT')
      callgrindControl(server.pid, '-z')
      await run(store, scenario, WARM)
      callgrindControl(server.pid, '-d')
      part++
      const stats = await admin.info('commandstats')
      const calls = Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? Number.NaN)
      const perTx = dumpedInstructions(folder, part) / scenario.transactions
      cells.push(
        `${Math.round(perTx).toLocaleString('en').padStart(9)} (${(scenario.transactions / calls).toFixed(1)} a call)`.padStart(
          36,
        ),
      )
      await store.close()
    }
    console.log(`${target.padEnd(width)}  ${cells.join('')}`)
  }
} finally {
  admin.disconnect()
  server.kill('SIGKILL')
  rmSync(folder, { recursive: true, force: true })
}
