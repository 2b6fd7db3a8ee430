import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { LIMB_COUNT } from '../../../src/core/amount/amount.js'
import { OUTCOME_LETTERS } from '../../../src/core/idempotency/idempotency.js'
import { QuantileCounts } from '../../../src/core/quantiles/quantile-counts.js'
import { quantileSettings } from '../../../src/core/quantiles/settings.js'
import { keepQuantiles } from '../../../src/core/quantiles/window-quantiles.js'
import { RollingWindow } from '../../../src/core/window/window.js'
import {
  addQuantileCounts,
  partitionHeader,
  pushHashWrites,
  pushRecordGroup,
  pushSketchWrites,
  type QuantileReply,
  type RecordReply,
  type Reply,
  recordHeader,
  snapshotStatistics,
} from '../../../src/store/redis/commands.js'
import { fold, unfold } from '../../../src/store/redis/fold.js'
import {
  EDGE_MS,
  type EdgeDelta,
  Judgement,
  Partition,
  REFUSALS,
} from '../../../src/store/redis/partition.js'
import { PartitionSketches } from '../../../src/store/redis/partition-sketches.js'
import { recordScript, SNAPSHOT } from '../../../src/store/redis/scripts.js'
import { metaKey } from '../../../src/store/redis/shards.js'
import type { Transaction } from '../../../src/store/store.js'
import { REDIS_URL } from '../../support/stores.js'

const redis = new Redis(REDIS_URL)
afterAll(() => redis.disconnect())

const WINDOW_MS = 1_000
const SKEW_MS = 200
const NOW = 1_800_000_000_000
const QUANTILES = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1]
const { mapping, budget } = quantileSettings({}, WINDOW_MS, SKEW_MS)
let windows = 0

/** A writer's partition of the window, keeping its quantile sketches. */
function partitionWithSketches(): Partition {
  return new Partition(WINDOW_MS, new PartitionSketches(mapping, budget, WINDOW_MS, SKEW_MS))
}

const transactions = fc.array(
  fc.record({
    amount: fc.oneof(
      fc.integer({ min: -1e9, max: 1e9 }).map((cents) => cents / 100),
      fc.constantFrom(1e300, -1e300, 5e-324),
    ),
    // Around both edges: the window's start and the skew allowance's end.
    timestamp: fc.oneof(
      fc.integer({ min: NOW - WINDOW_MS - 3, max: NOW - WINDOW_MS + 3 }),
      fc.integer({ min: NOW + SKEW_MS - 3, max: NOW + SKEW_MS + 3 }),
      fc.integer({ min: NOW - 2 * WINDOW_MS, max: NOW + 2 * SKEW_MS }),
    ),
  }),
  { minLength: 1, maxLength: 30 },
)

/** The record script's header for a writer's call at instant `at`, as the store encodes it. */
function headerOf(
  root: string,
  at: number,
  sketches: boolean,
  partition: Partition,
  judgement: Judgement,
) {
  return recordHeader({
    root,
    at: String(at),
    windowMs: String(WINDOW_MS),
    floor: '',
    clockSkewMs: String(SKEW_MS),
    ttlFloorMs: 10_000,
    retentionMs: '60000',
    budgetBytes: '1000000',
    sketches,
    dimensions: 0,
    maxValues: '0',
    clientShareBytes: '1000000',
    ...partitionHeader(partition, judgement),
  })
}

/** The core's letter for each transaction, at an instant. */
function coreLetters(written: ReadonlyArray<{ amount: number; timestamp: number }>, at: number) {
  const core = new RollingWindow({ windowMs: WINDOW_MS, clockSkewMs: SKEW_MS, clock: () => at })
  return written.map(({ amount, timestamp }) => OUTCOME_LETTERS[core.record(amount, timestamp)])
}

/** The snapshot script's answer at NOW, with quantiles. */
async function snapshotAt(root: string): Promise<QuantileReply> {
  const args = [root, String(NOW), String(WINDOW_MS), '', String(WINDOW_MS), String(SKEW_MS)]
  return (await redis.eval(SNAPSHOT, 1, metaKey(root), ...args)) as QuantileReply
}

/**
 * The writer's judgement (partition.ts, the twin of the core's rules) and record.lua, run alone
 * with arguments encoded as the store encodes them: the writer judges at an estimated instant,
 * leaving the deltas near an edge to the script, which judges them at its own instant and
 * records only at an instant where the writer's judgement is the core's.
 */
describe('record.lua and the writer against their TypeScript twin', () => {
  it('judge as the window does, and record exactly when the instant read confirms the writer', async () => {
    const script = recordScript({ dimensions: false })
    await fc.assert(
      fc.asyncProperty(
        transactions,
        fc.integer({ min: -3, max: 3 }),
        fc.constantFrom(0, 2, EDGE_MS),
        async (written, missBy, edgeMs) => {
          const estimate = NOW + missBy
          const folded = fold(written, mapping)
          const judgement = new Judgement(estimate, WINDOW_MS, SKEW_MS, edgeMs)
          const edges: EdgeDelta[] = []
          const letters = judgement.judge(folded.deltas, edges)
          // The writer judges as the core does, but for the deltas it leaves to the script.
          const atEstimate = coreLetters(written, estimate)
          const left = unfold(letters, folded)
          expect([...left].filter((letter) => letter !== '?')).toEqual(
            atEstimate.filter((_, i) => left[i] !== '?'),
          )

          const partition = partitionWithSketches()
          const staged = partition.stage(judgement.stored, estimate)
          const root = `test:record-twin:${process.pid}:${Date.now()}:${++windows}:{r}:`
          const args = headerOf(root, NOW, true, partition, judgement)
          pushHashWrites(args, staged.hashes)
          pushSketchWrites(args, staged.sketches as NonNullable<typeof staged.sketches>)
          pushRecordGroup(args, undefined, folded, letters, edges, false)
          const [now, answered, , , refusal] = (await redis.eval(
            script,
            1,
            metaKey(root),
            ...args,
          )) as RecordReply
          const snapshot = await snapshotAt(root)
          const keys = await redis.keys(`${root}*`)
          await redis.del(...keys)
          expect(now).toBe(NOW)
          const atNow = coreLetters(written, NOW)
          if ([...left].some((letter, i) => letter !== '?' && letter !== atNow[i])) {
            // Judged for another instant: nothing written but the window's instant.
            expect(refusal).toBe(REFUSALS.judged)
            expect(keys).toEqual([metaKey(root)])
            return
          }
          expect(refusal).toBe('')
          expect(unfold(answered, folded)).toBe(atNow.join(''))
          const core = new RollingWindow({
            windowMs: WINDOW_MS,
            clockSkewMs: SKEW_MS,
            clock: () => NOW,
            quantiles: keepQuantiles(),
          })
          for (const { amount, timestamp } of written) core.record(amount, timestamp)
          const statistics = snapshotStatistics([snapshot as Reply], new Float64Array(LIMB_COUNT))
          const { quantiles, quantileEdgeMs, ...five } = core.query({
            windowMs: WINDOW_MS,
            quantiles: QUANTILES,
          })
          expect(statistics).toEqual(five)
          // The sketches the writer wrote and those the script added at the edges are the core's.
          const counts = new QuantileCounts(mapping)
          const read = addQuantileCounts([snapshot], counts)
          expect(read.edgeMs).toBe(quantileEdgeMs)
          if (five.count > 0)
            expect(counts.answer(QUANTILES, read.min, read.max)).toEqual(quantiles)
        },
      ),
      { numRuns: 80 },
    )
  })

  it('writes nothing when it refuses a call for its instant, not its blocks nor its sketches', async () => {
    const script = recordScript({ dimensions: false })
    const root = `test:record-twin:${process.pid}:${Date.now()}:refused:{r}:`
    const partition = partitionWithSketches()
    /** One call recording `written` at instant `at`, judged by the writer at `judgedAt`. */
    const call = async (at: number, judgedAt: number, written: Transaction[]) => {
      const folded = fold(written, mapping)
      const judgement = new Judgement(judgedAt, WINDOW_MS, SKEW_MS, 0)
      const letters = judgement.judge(folded.deltas, [])
      const staged = partition.stage(judgement.stored, judgedAt)
      const args = headerOf(root, at, true, partition, judgement)
      pushHashWrites(args, staged.hashes)
      pushSketchWrites(args, staged.sketches as NonNullable<typeof staged.sketches>)
      pushRecordGroup(args, undefined, folded, letters, [], false)
      const reply = (await redis.eval(script, 1, metaKey(root), ...args)) as RecordReply
      const [now, , , , refusal, gen, writes, announced] = reply
      partition.settle(refusal, staged, gen, now, writes, announced)
      return refusal
    }
    /** Every key of the window but its meta (whose instant a refused call still moves), dumped. */
    const state = async () => {
      const keys = (await redis.keys(`${root}*`)).filter((key) => key !== metaKey(root)).sort()
      return Promise.all(keys.map(async (key) => [key, await redis.dumpBuffer(key)]))
    }
    expect(await call(NOW, NOW, [{ amount: 5, timestamp: NOW }])).toBe('')
    const before = await state()
    // Judged a whole window before the instant the script reads: refused, and nothing is touched.
    const later = NOW + WINDOW_MS + 5 * SKEW_MS
    expect(await call(later, NOW, [{ amount: 7, timestamp: NOW + 1 }])).toBe(REFUSALS.judged)
    expect(await state()).toEqual(before)
    const keys = await redis.keys(`${root}*`)
    await redis.del(...keys)
  })
})
