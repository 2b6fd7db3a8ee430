import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { OUTCOME_LETTERS } from '../../../src/core/idempotency/idempotency.js'
import { QuantileCounts } from '../../../src/core/quantiles/quantile-counts.js'
import { QuantileMapping } from '../../../src/core/quantiles/quantile-mapping.js'
import {
  addQuantileCounts,
  partitionHeader,
  pushHashWrites,
  pushRecordGroup,
  pushSketchWrites,
  type QuantileReply,
  type RecordReply,
  recordHeader,
} from '../../../src/store/redis/commands.js'
import { fold } from '../../../src/store/redis/fold.js'
import { type EdgeDelta, Judgement, Partition } from '../../../src/store/redis/partition.js'
import { PartitionSketches } from '../../../src/store/redis/partition-sketches.js'
import { recordScript, SNAPSHOT } from '../../../src/store/redis/scripts.js'
import { metaKey } from '../../../src/store/redis/shards.js'
import { deleteKeys, REDIS_URL } from '../../support/stores.js'

const redis = new Redis(REDIS_URL)
const PREFIX = `test:sketches-twin:${process.pid}:${Date.now()}:`
afterAll(async () => {
  await deleteKeys(PREFIX)
  redis.disconnect()
})

const WINDOW_MS = 10_000
const SKEW_MS = 2_000
const START = 1_800_000_000_000
const mapping = new QuantileMapping()
const RECORD = recordScript({ dimensions: false })

/** The value of every rank of the counts (plus base's), lowest first: equal for equal counts. */
function everyRank(counts: QuantileCounts, base?: QuantileCounts): Record<string, number> {
  const total = counts.total + (base?.total ?? 0)
  const quantiles = Array.from({ length: total }, (_, k) =>
    total === 1 ? 0 : Math.min(1, (k + 0.5) / (total - 1)),
  )
  return counts.answer(quantiles, -1e300, 1e300, base)
}

/** One record call of a writer's partition at `now`, as the store makes it, its answer settled. */
async function record(
  root: string,
  partition: Partition,
  now: number,
  written: Array<{ amount: number; timestamp: number }>,
): Promise<void> {
  const folded = fold(written, mapping)
  const judgement = new Judgement(now, WINDOW_MS, SKEW_MS)
  const edges: EdgeDelta[] = []
  const letters = judgement.judge(folded.deltas, edges)
  const staged = partition.stage(
    judgement.stored,
    now,
    edges.map(({ delta }) => delta),
  )
  const args = recordHeader({
    root,
    at: String(now),
    windowMs: String(WINDOW_MS),
    floor: '',
    clockSkewMs: String(SKEW_MS),
    ttlFloorMs: 600_000,
    retentionMs: '60000',
    budgetBytes: '1000000',
    sketches: true,
    dimensions: 0,
    maxValues: '0',
    clientShareBytes: '1000000',
    ...partitionHeader(partition, judgement),
  })
  pushHashWrites(args, staged.hashes)
  pushSketchWrites(args, staged.sketches as NonNullable<typeof staged.sketches>)
  pushRecordGroup(args, undefined, folded, letters, edges, false)
  const reply = (await redis.eval(RECORD, 1, metaKey(root), ...args)) as RecordReply
  const [at, answered, , , refusal, gen, writes, announced] = reply
  expect(refusal).toBe('')
  partition.settle(refusal, staged, gen, at, writes, announced)
  partition.absorb(
    edges
      .filter(({ index }) => answered[index] === OUTCOME_LETTERS.stored)
      .map(({ delta }) => delta),
    at,
  )
}

/** The snapshot script's quantile counts of the last queryMs at `now`, and the edge it cut at. */
async function readAt(root: string, now: number, queryMs: number) {
  const snapshot = (await redis.eval(
    SNAPSHOT,
    1,
    metaKey(root),
    root,
    String(now),
    String(WINDOW_MS),
    '',
    String(queryMs),
    String(SKEW_MS),
  )) as QuantileReply
  const counts = new QuantileCounts(mapping)
  const { edgeMs } = addQuantileCounts([snapshot], counts)
  return { counts, edgeMs }
}

/** What the writer holds of the last queryMs at `now`, as the core merges it. */
function heldAt(sketches: PartitionSketches, now: number, queryMs: number) {
  const counts = new QuantileCounts(mapping)
  const merged = sketches.held.merge(now - queryMs + 1, now, counts, now + SKEW_MS)
  return { ranks: everyRank(counts, merged.base), edgeMs: merged.edgeMs }
}

let windows = 0

/**
 * A writer's sketches (partition-sketches.ts) written by the record script, read back by the
 * snapshot's (sketches.lua: keptOf, cutEdges, readSketches), against the same writer's sketches
 * in Node (the core's BlockSketches): what Redis answers of an interval is what the writer holds,
 * edges cut alike, however its budget freed blocks early.
 */
describe('sketches.lua against its TypeScript twin', () => {
  it('reads what the writer holds, cutting edges where the writer freed blocks early', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            step: fc.integer({ min: 0, max: 900 }),
            ages: fc.array(fc.integer({ min: -SKEW_MS, max: WINDOW_MS - 1 }), {
              minLength: 1,
              maxLength: 40,
            }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        // A budget that holds a few blocks at most, so that the finer levels are freed early
        // (below the floor a store would refuse: the seconds are then never freed, as ever).
        fc.integer({ min: 1_000, max: 30_000 }),
        fc.integer({ min: 1, max: WINDOW_MS }),
        async (calls, budget, queryMs) => {
          const root = `${PREFIX}${++windows}:{k}:`
          const sketches = new PartitionSketches(mapping, budget, WINDOW_MS, SKEW_MS)
          const partition = new Partition(WINDOW_MS, sketches)
          let now = START
          let n = 0
          for (const { step, ages } of calls) {
            now += step
            const written = ages.map((age) => ({
              amount: ((n++ * 7919) % 200_000) / 100 - 1_000,
              timestamp: now - age,
            }))
            await record(root, partition, now, written)
          }
          const read = await readAt(root, now, queryMs)
          const held = heldAt(sketches, now, queryMs)
          expect(read.edgeMs).toBe(held.edgeMs)
          expect(everyRank(read.counts)).toEqual(held.ranks)
        },
      ),
      { numRuns: 40 },
    )
  }, 60_000)

  it('writes and reads sketches of thousands of buckets in one call', async () => {
    const root = `${PREFIX}wide:{k}:`
    const sketches = new PartitionSketches(mapping, 100_000_000, WINDOW_MS, SKEW_MS)
    const partition = new Partition(WINDOW_MS, sketches)
    // Every bucket of the mapping in one second: each hash of it, and the sum, as wide as any.
    const now = START + 5_500
    const written = Array.from({ length: mapping.size }, (_, index) => ({
      amount: Number(mapping.value(index).toPrecision(6)),
      timestamp: START + 4_000 + (index % 1_000),
    }))
    await record(root, partition, now, written)
    await record(root, partition, now + 1_000, [{ amount: 1, timestamp: now }])
    for (const queryMs of [WINDOW_MS, 1_700, 1_234]) {
      const read = await readAt(root, now + 1_000, queryMs)
      expect(read.counts.total).toBeGreaterThan(0)
      expect(everyRank(read.counts)).toEqual(heldAt(sketches, now + 1_000, queryMs).ranks)
    }
  })
})
