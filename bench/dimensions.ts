/**
 * Micro-benchmark of dimensions (not a test), run by npm run bench:core after the window's own
 * figures: a memory store with two dimensions (1 000 merchants, 10 currencies) against one
 * without, at a steady 100 transactions a millisecond; a value's statistics and a breakdown over
 * 1 000 live values against a plain snapshot; then, each in a process of its own, the memory of
 * 1 000 live values per dimension for two minutes at 100 000 transactions a second, and of
 * 10 000 000 transactions over 100 000 distinct values (the bound at work).
 * Run alone: node --expose-gc --import tsx bench/dimensions.ts
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { DEFAULT_DIMENSION_BUDGET_BYTES } from '../src/core/defaults.js'
import { MemoryStore } from '../src/store/memory.js'
import type { Transaction } from '../src/store/store.js'

/** Set in the child processes that measure memory (see memory). */
const MEMORY_CASE = process.env.DIMENSION_MEMORY_CASE
const PER_MS = 100
const MERCHANTS = 1_000
const CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY', 'CHF', 'SEK', 'NOK', 'DKK', 'PLN', 'CZK']
const ROUNDS = 15
const QUERIES_PER_ROUND = 200

let now = 1_800_000_000_000
const clock = () => now
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1] as number
const amounts = Array.from({ length: 4096 }, (_, i) => (((i * 7919) % 100_000) + 1) / 100)

/** The i-th transaction of the traffic: merchants and currencies cycling, 1 in 11 without merchant. */
function transaction(i: number, values = MERCHANTS): Transaction {
  const merchant = i % 11 === 10 ? {} : { merchant: `m-${i % values}` }
  return {
    amount: amounts[i & 4095] as number,
    timestamp: now,
    currency: CURRENCIES[i % CURRENCIES.length],
    ...merchant,
  } as unknown as Transaction
}

/** ns per record at PER_MS a millisecond for `ms` ms, after a window and a half of warm-up. */
function steadyNs(store: MemoryStore, ms: number): number {
  let i = 0
  for (let t = 0; t < 90_000; t++) {
    now++
    for (let k = 0; k < PER_MS; k++) store.record([transaction(i++)])
  }
  const start = process.hrtime.bigint()
  for (let t = 0; t < ms; t++) {
    now++
    for (let k = 0; k < PER_MS; k++) store.record([transaction(i++)])
  }
  return Number(process.hrtime.bigint() - start) / (ms * PER_MS)
}

function nsPer(read: () => unknown): number {
  const start = process.hrtime.bigint()
  for (let i = 0; i < QUERIES_PER_ROUND; i++) {
    now++ // every read walks the window: within a millisecond answers may be cached
    read()
  }
  return Number(process.hrtime.bigint() - start) / QUERIES_PER_ROUND
}

function main(): void {
  const dimensions = ['currency', 'merchant']
  const plain = new MemoryStore({ clock, quantiles: false })
  const withDimensions = new MemoryStore({ clock, quantiles: false, dimensions })
  // Interleaved, so that drift of the machine hits both alike.
  const plainNs: number[] = []
  const withDimensionsNs: number[] = []
  for (let round = 0; round < 3; round++) {
    plainNs.push(steadyNs(plain, 10_000))
    withDimensionsNs.push(steadyNs(withDimensions, 10_000))
  }
  const p = median(plainNs)
  const l = median(withDimensionsNs)
  console.log(
    `record, 2 dimensions   ${fmt(1e9 / l)} ops/s (${l.toFixed(0)} ns/op) against ${fmt(1e9 / p)} without (${p.toFixed(0)} ns/op): ${(p / l).toFixed(3)} of the rate, same run (1 000 merchants, 10 currencies, 100/ms)`,
  )

  const live = withDimensions.breakdown({ dimension: 'merchant', order: 'sum', limit: 1000 })
  const query = { dimension: 'merchant', order: 'sum' as const, limit: 10 }
  const value = { dimensionValue: { dimension: 'merchant', value: 'm-7' } }
  const snapshotNs: number[] = []
  const valueNs: number[] = []
  const breakdownNs: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    snapshotNs.push(nsPer(() => withDimensions.statistics()))
    valueNs.push(nsPer(() => withDimensions.statistics(value)))
    breakdownNs.push(nsPer(() => withDimensions.breakdown(query)))
  }
  const s = median(snapshotNs)
  const v = median(valueNs)
  const b = median(breakdownNs)
  console.log(
    `value statistics       ${(v / 1000).toFixed(1)} µs (plain snapshot ${(s / 1000).toFixed(1)} µs, same window of ${fmt(withDimensions.statistics().count)})`,
  )
  console.log(
    `breakdown, top 10      ${(b / 1000).toFixed(0)} µs over ${fmt(live.values.length)} live merchants`,
  )
  for (const name of ['live', 'flood']) {
    const run = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, DIMENSION_MEMORY_CASE: name },
      encoding: 'utf8',
    })
    console.log(run.stdout.trim() || run.stderr.trim())
  }
}

function rssMb(): number {
  globalThis.gc?.()
  return process.memoryUsage().rss / 2 ** 20
}

/**
 * live: 1 000 merchants and 10 currencies at 100 000 transactions a second for two minutes.
 * flood: 10 000 000 transactions over 100 000 distinct merchants, all in one window.
 */
function memory(name: string): string {
  const before = rssMb()
  const store = new MemoryStore({ clock, quantiles: false, dimensions: ['currency', 'merchant'] })
  const allocated = rssMb()
  if (name === 'live') {
    let i = 0
    for (let t = 0; t < 120_000; t++) {
      now++
      for (let k = 0; k < PER_MS; k++) store.record([transaction(i++)])
    }
  } else {
    for (let i = 0; i < 10_000_000; i++) {
      if (i % 200 === 0) now++
      store.record([transaction(i, 100_000)])
    }
  }
  const after = rssMb()
  const merchants = store.breakdown({ dimension: 'merchant', order: 'count', limit: 1000 })
  const what =
    name === 'live'
      ? '1 000 merchants + 10 currencies, 100 000/s for 120 s'
      : '10 000 000 transactions over 100 000 merchants'
  return `memory, ${what}: RSS +${(after - before).toFixed(1)} MiB (+${(allocated - before).toFixed(1)} at construction); merchants listed ${fmt(merchants.values.length)}, in other ${fmt(merchants.other.count)} of ${fmt(store.statistics().count)}; budget ${DEFAULT_DIMENSION_BUDGET_BYTES / 2 ** 20} MiB a dimension`
}

if (MEMORY_CASE !== undefined) console.log(memory(MEMORY_CASE))
else main()
