/**
 * Micro-benchmark of the rolling window (not a test): prints record and snapshot throughput,
 * snapshot time with an empty window beside one holding 10 000 000 records, and memory growth.
 * Run: npm run bench:core  (RECORDS=… changes the load)
 *
 * The clock is the benchmark's: it moves 1 ms before every measured snapshot, so each one walks
 * the slots (within one millisecond the window returns its cached answer, measured separately).
 */
import { RollingWindow } from '../src/core/window.js'

const RECORDS = Number(process.env.RECORDS ?? 10_000_000)
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

const initial = memoryMb()
const empty = new RollingWindow({ clock })
const full = new RollingWindow({ clock })
const before = memoryMb()
const base = now
const start = process.hrtime.bigint()
for (let i = 0; i < RECORDS; i++) full.record(amounts[i & 4095] as number, base - (i % SPREAD_MS))
const recordNs = Number(process.hrtime.bigint() - start) / RECORDS
const after = memoryMb()

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
