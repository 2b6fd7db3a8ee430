/**
 * Micro-benchmark of the rolling window (not a test): prints record and snapshot throughput,
 * snapshot time with an empty window beside one holding 10 000 000 records, and memory growth;
 * then the quantiles: record with and without sketches, a snapshot with three quantiles beside a
 * plain one over 1 000 000 log-normal amounts, the worst relative error of 99 quantiles against
 * the sorted amounts, and the memory of 10 000 000 random amounts against the budget.
 * Then the dimensions' figures, from bench/dimensions.ts in a process of its own.
 * Run: npm run bench:core  (RECORDS=… changes the load; QUANTILE_RECORDS=… the quantile phase's)
 *
 * The clock is the benchmark's: it moves 1 ms before every measured snapshot, so each one walks
 * the slots (within one millisecond the window returns its cached answer, measured separately).
 */

import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { DEFAULT_QUANTILE_ACCURACY, DEFAULT_QUANTILE_BUDGET_BYTES } from '../src/core/defaults.js'
import { keepQuantiles } from '../src/core/quantiles/window-quantiles.js'
import { RollingWindow } from '../src/core/window/window.js'

const RECORDS = Number(process.env.RECORDS ?? 10_000_000)
/** Set in the child process that measures one steady rate (see steadyMemory). */
const ONE_RATE = process.env.QUANTILE_RATE
const QUANTILE_RECORDS = Number(process.env.QUANTILE_RECORDS ?? 1_000_000)
const ROUNDS = 15
const SNAPSHOTS_PER_ROUND = 1_000
const SPREAD_MS = 25_000 // records lie in [base - SPREAD_MS, base]: all still inside after the rounds
// Amounts in whole cents, as payments are; other decimals take the general path (see design.md).
const amounts = Array.from({ length: 4096 }, (_, i) => (((i * 7919) % 100_000) + 1) / 100)

let now = Date.now()
const clock = () => now

function memoryMb() {
  globalThis.gc?.()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return { heap: heapUsed / 2 ** 20, buffers: arrayBuffers / 2 ** 20 }
}

function nsPerSnapshot(
  window: RollingWindow,
  advance: boolean,
  count = SNAPSHOTS_PER_ROUND,
): number {
  const start = process.hrtime.bigint()
  for (let i = 0; i < count; i++) {
    if (advance) now++
    window.snapshot()
  }
  return Number(process.hrtime.bigint() - start) / count
}

const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1] as number
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

/** Log-normal amounts of cents (5 % negative), from a seeded generator: the same every run. */
let seed = 42
function uniform(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  return (seed + 0.5) / 2_147_483_648
}
function logNormalCents(): number {
  const z = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())
  const cents = Math.max(1, Math.round(Math.exp(3 + 1.5 * z) * 100))
  return (uniform() < 0.05 ? -cents : cents) / 100
}

function main(): void {
  const initial = memoryMb()
  const empty = new RollingWindow({ clock })
  const full = new RollingWindow({ clock })
  const before = memoryMb()
  const base = now
  const start = process.hrtime.bigint()
  for (let i = 0; i < RECORDS; i++) full.record(amounts[i & 4095] as number, base - (i % SPREAD_MS))
  const recordNs = Number(process.hrtime.bigint() - start) / RECORDS
  const after = memoryMb()
  const sketched = new RollingWindow({ clock, quantiles: keepQuantiles() })
  const sketchStart = process.hrtime.bigint()
  for (let i = 0; i < RECORDS; i++) {
    sketched.record(amounts[i & 4095] as number, base - (i % SPREAD_MS))
  }
  const sketchedNs = Number(process.hrtime.bigint() - sketchStart) / RECORDS

  // Interleaved rounds, so machine drift hits both windows alike.
  nsPerSnapshot(empty, true)
  nsPerSnapshot(full, true)
  const emptyNs: number[] = []
  const fullNs: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    emptyNs.push(nsPerSnapshot(empty, true))
    fullNs.push(nsPerSnapshot(full, true))
  }
  const e = median(emptyNs)
  const f = median(fullNs)
  const cachedNs = nsPerSnapshot(full, false, 1_000_000)

  console.log(`records in window      ${fmt(full.snapshot().count)} (of ${fmt(RECORDS)} recorded)`)
  console.log(`record                 ${fmt(1e9 / recordNs)} ops/s  (${recordNs.toFixed(0)} ns/op)`)
  console.log(`snapshot, full window  ${fmt(1e9 / f)} ops/s  (${f.toFixed(0)} ns/op)`)
  console.log(`snapshot, empty window ${fmt(1e9 / e)} ops/s  (${e.toFixed(0)} ns/op)`)
  console.log(`snapshot full / empty  ${(f / e).toFixed(3)}`)
  console.log(
    `snapshot, same ms      ${fmt(1e9 / cachedNs)} ops/s  (${cachedNs.toFixed(0)} ns/op, cached)`,
  )
  console.log(
    `heap used              ${before.heap.toFixed(2)} MB before the records, ${after.heap.toFixed(2)} MB after: growth ${(after.heap - before.heap).toFixed(2)} MB`,
  )
  console.log(
    `slot arrays            ${((before.buffers - initial.buffers) / 2).toFixed(1)} MB a window, allocated at construction; growth during the records ${(after.buffers - before.buffers).toFixed(2)} MB`,
  )
  console.log(
    `record with quantiles  ${fmt(1e9 / sketchedNs)} ops/s  (${sketchedNs.toFixed(0)} ns/op; ${(recordNs / sketchedNs).toFixed(3)} of the rate without, same run; the budget full)`,
  )

  /**
   * Steady traffic: the clock moves 1 ms every 50 records, as at 50 000 a second, so blocks leave
   * the window as new ones start (a window and a half of warm-up first, not timed). Returns ns per
   * record once warm.
   */
  function steadyNs(window: RollingWindow): number {
    const warm = 90_000 * 50
    for (let i = 0; i < warm; i++) {
      if (i % 50 === 0) now++
      window.record(amounts[i & 4095] as number, now)
    }
    const start = process.hrtime.bigint()
    for (let i = 0; i < RECORDS / 2; i++) {
      if (i % 50 === 0) now++
      window.record(amounts[i & 4095] as number, now)
    }
    return Number(process.hrtime.bigint() - start) / (RECORDS / 2)
  }
  now += 120_000
  const steadyPlain = steadyNs(new RollingWindow({ clock }))
  now += 120_000
  const steadySketched = steadyNs(new RollingWindow({ clock, quantiles: keepQuantiles() }))
  console.log(
    `record, steady 50/ms   ${fmt(1e9 / steadySketched)} ops/s with quantiles (${steadySketched.toFixed(0)} ns/op), ${fmt(1e9 / steadyPlain)} without (${steadyPlain.toFixed(0)} ns/op)`,
  )

  // Quantiles over a window of log-normal amounts, some negative, all still inside it.
  now += 120_000
  const quantileBase = now
  const q = new RollingWindow({ clock, quantiles: keepQuantiles() })
  const written: number[] = []
  for (let i = 0; i < QUANTILE_RECORDS; i++) {
    const amount = logNormalCents()
    written.push(amount)
    q.record(amount, quantileBase - (i % 20_000))
  }
  const asked = [0.5, 0.9, 0.99]
  function nsPerQuery(quantiles: number[] | undefined): number {
    const start = process.hrtime.bigint()
    for (let i = 0; i < SNAPSHOTS_PER_ROUND; i++) {
      now++
      if (quantiles) q.query({ quantiles })
      else q.snapshot()
    }
    return Number(process.hrtime.bigint() - start) / SNAPSHOTS_PER_ROUND
  }
  // The clock moves on 1 ms a snapshot; the amounts, 20 s apart at most, stay in the window.
  now = quantileBase
  nsPerQuery(asked)
  nsPerQuery(undefined)
  const plainNs: number[] = []
  const quantileNs: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    plainNs.push(nsPerQuery(undefined))
    quantileNs.push(nsPerQuery(asked))
  }
  const qn = median(quantileNs)
  const pn = median(plainNs)
  console.log(`quantile window        ${fmt(q.snapshot().count)} log-normal amounts (5 % negative)`)
  console.log(
    `snapshot + 3 quantiles ${fmt(1e9 / qn)} ops/s  (${qn.toFixed(0)} ns/op; plain snapshot ${pn.toFixed(0)} ns/op, same window)`,
  )

  // Accuracy: 99 quantiles against the sorted amounts, as the answer defines them.
  written.sort((a, b) => a - b)
  const percentiles = Array.from({ length: 99 }, (_, i) => (i + 1) / 100)
  const answer = q.query({ quantiles: percentiles })
  let worst = 0
  for (const p of percentiles) {
    const truth = written[Math.floor(p * (written.length - 1))] as number
    const error = Math.abs((answer.quantiles?.[String(p)] as number) - truth) / Math.abs(truth)
    worst = Math.max(worst, error)
  }
  console.log(
    `quantile accuracy      worst relative error over 99 quantiles ${(worst * 100).toFixed(3)} % (α ${(DEFAULT_QUANTILE_ACCURACY * 100).toFixed(1)} %), edges ${answer.quantileEdgeMs} ms`,
  )

  // Memory: random amounts, each in its own bucket as often as can be, every millisecond used.
  written.length = 0
  const rssBefore = process.memoryUsage().rss / 2 ** 20
  now += 120_000
  const flood = new RollingWindow({ clock, quantiles: keepQuantiles() })
  const floodBase = now
  let floodEdge = 1
  for (let i = 0; i < RECORDS; i++) {
    const amount = Number((10 ** (uniform() * 30 - 9)).toPrecision(8))
    flood.record(i % 2 === 0 ? amount : -amount, floodBase - (i % 60_000))
  }
  now++
  floodEdge = flood.query({ quantiles: [0.5] }).quantileEdgeMs ?? 1
  const rssAfter = process.memoryUsage().rss / 2 ** 20
  console.log(
    `quantile memory        ${fmt(RECORDS)} random amounts over 60 s: sketches charged ${(flood.quantileBytes / 2 ** 20).toFixed(1)} MiB of ${(DEFAULT_QUANTILE_BUDGET_BYTES / 2 ** 20).toFixed(0)}; RSS +${(rssAfter - rssBefore).toFixed(1)} MiB; edges ${floodEdge} ms`,
  )
}

/**
 * Memory at steady rates: RATE transactions a second of log-normal amounts, on the benchmark's
 * clock, for a window and a half of simulated time, each rate in a process of its own so that
 * nothing else is in its heap. Prints what the sketches are charged (the budget's measure), the
 * heap and buffers they hold, and the edge the quantiles hold.
 */
function steadyMemory(rate: number): string {
  const before = heldMb()
  const steady = new RollingWindow({ clock, quantiles: keepQuantiles() })
  const perMs = rate / 1000
  let carry = 0
  for (let ms = 0; ms < 90_000; ms++) {
    now++
    carry += perMs
    for (; carry >= 1; carry--) steady.record(logNormalCents(), now)
  }
  const edge = steady.query({ quantiles: [0.5] }).quantileEdgeMs
  const held = heldMb() - before
  return `quantiles at ${fmt(rate).padStart(9)}/s  sketches charged ${(steady.quantileBytes / 2 ** 20).toFixed(1)} MiB, held ${held.toFixed(1)} MiB (heap and buffers), edges ${edge} ms (log-normal amounts, 90 s)`
}

/** The heap and the typed arrays' buffers, after a collection, in MiB. */
function heldMb(): number {
  globalThis.gc?.()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return (heapUsed + arrayBuffers) / 2 ** 20
}

if (ONE_RATE !== undefined) {
  console.log(steadyMemory(Number(ONE_RATE)))
} else {
  main()
  for (const rate of (process.env.QUANTILE_RATES ?? '10000,100000,1000000').split(',')) {
    const run = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, QUANTILE_RATE: rate },
      encoding: 'utf8',
    })
    console.log(run.stdout.trim() || run.stderr.trim())
  }
  const dimensions = fileURLToPath(new URL('dimensions.ts', import.meta.url))
  const run = spawnSync(process.execPath, [...process.execArgv, dimensions], { encoding: 'utf8' })
  console.log(run.stdout.trim() || run.stderr.trim())
}
