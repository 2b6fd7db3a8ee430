import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { LIMB_COUNT } from '../../../src/core/amount/amount.js'
import { statisticsOf } from '../../../src/core/window/statistics.js'
import { breakdownHead, readSteps, stepEntries } from '../../../src/store/redis/breakdown.js'
import { type Reply, type StepReply, valueStatistics } from '../../../src/store/redis/commands.js'
import { ROLLUP_ENTRIES } from '../../../src/store/redis/layout.js'
import { BREAKDOWN, VALUE } from '../../../src/store/redis/scripts.js'
import { metaKey, shardRoots } from '../../../src/store/redis/shards.js'
import type { Transaction } from '../../../src/store/store.js'
import { openStore, prefixOf, REDIS_URL } from '../../support/stores.js'

const redis = new Redis(REDIS_URL)
afterAll(() => redis.disconnect())

const WINDOW_MS = 60_000
const NOW = 1_800_000_000_123
const VALUES = ['m-0', 'm-1', 'm-2', 'm-3', 'm-4']

/**
 * breakdown.lua, run alone (its first call, then its steps), against the memory store's value
 * windows (ValueWindows) on the same transactions: every value's statistics over any window
 * length cut at any millisecond, from rollups that hold their deltas and from seconds spilled to
 * blocks; and value.lua, run alone, the same.
 */
/** Transactions of the values, by their age at the instant they are recorded. */
const transactionsArbitrary = (minLength: number, maxLength: number) =>
  fc.array(
    fc.record({
      // Some from a few, so that seconds share their min or max.
      amount: fc.oneof(
        fc.integer({ min: -3, max: 3 }),
        fc.integer({ min: -1e9, max: 1e9 }).map((cents) => cents / 100),
      ),
      // Many near the instants read, up to the skew ahead, so that reads cut the seconds around
      // them, before and after.
      age: fc.oneof(
        fc.integer({ min: -2_000, max: 3_000 }),
        fc.integer({ min: 0, max: WINDOW_MS - 1 }),
        // At the instant read: the last millisecond a read takes.
        fc.constant(0),
      ),
      value: fc.constantFrom(...VALUES),
    }),
    { minLength, maxLength },
  )

/**
 * A value's burst: about as many deltas in one second as a rollup holds (ROLLUP_ENTRIES), often
 * more, so that its second spills to the value's hashes of blocks, sometimes across calls.
 */
const burstArbitrary = fc
  .record({
    value: fc.constantFrom(...VALUES),
    // Mostly around the instants read, so that short reads cut it.
    age: fc.oneof(
      fc.integer({ min: -1_500, max: 1_500 }),
      fc.integer({ min: 0, max: WINDOW_MS - 1_000 }),
    ),
    n: fc.integer({ min: ROLLUP_ENTRIES - 2, max: ROLLUP_ENTRIES + 8 }),
    // Often a millisecond apart, so that every block a cut reads holds some.
    step: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 9 })),
    amount: fc.integer({ min: -1e9, max: 1e9 }).map((cents) => cents / 100),
  })
  .map(({ value, age, n, step, amount }) =>
    Array.from({ length: n }, (_, i) => ({ amount: amount + i, age: age + i * step, value })),
  )

type Sent = { amount: number; age: number; value: string }[]
type Read = { after: number; windowMs: number; more: Sent }

/**
 * Records the transactions in both stores, then at each read (the instant moved on, more
 * recorded) reads every value's statistics with breakdown.lua and with value.lua, each run
 * alone, and expects the memory store's.
 */
async function agreeOn(transactions: Sent, reads: Read[]): Promise<void> {
  let instant = NOW
  const clock = () => instant
  const options = { clock, windowMs: WINDOW_MS, dimensions: ['merchant'] }
  const memory = await openStore('memory', options)
  const store = await openStore('redis', options)
  try {
    const record = async (batch: typeof transactions) => {
      const written = batch.map(
        ({ amount, age, value }) =>
          ({ amount, timestamp: instant - age, merchant: value }) as Transaction,
      )
      await memory.record(written)
      await store.record(written)
    }
    await record(transactions)
    const root = shardRoots(prefixOf(store) as string, 1)[0] as string
    const args = (queryWindow: number) => [
      metaKey(root),
      root,
      String(instant),
      String(WINDOW_MS),
      '',
      String(queryWindow),
      '1',
    ]
    for (const { after, windowMs, more } of reads) {
      instant += after
      await record(more)
      const head = breakdownHead((await redis.eval(BREAKDOWN, 1, ...args(windowMs))) as Reply)
      const steps = await readSteps(
        head,
        (step) =>
          redis.callBuffer('EVAL', BREAKDOWN, 1, ...args(windowMs), ...step) as Promise<StepReply>,
      )
      const got = new Map<string, unknown>()
      for (const { value, aggregate } of steps.flatMap(stepEntries)) {
        got.set(value, statisticsOf(aggregate))
      }
      const expected = new Map<string, unknown>()
      for (const value of VALUES) {
        const query = { dimensionValue: { dimension: 'merchant', value }, windowMs }
        const statistics = await memory.statistics(query)
        // value.lua, run alone, reads the same heads, entries and fine seconds a second at a time.
        const reply = (await redis.eval(VALUE, 1, ...args(windowMs), value)) as Reply
        expect(valueStatistics([reply], new Float64Array(LIMB_COUNT))).toEqual(statistics)
        if (statistics.count > 0) {
          const { incomplete: _, ...plain } = statistics as typeof statistics & {
            incomplete?: boolean
          }
          expected.set(value, plain)
        }
      }
      expect(got).toEqual(expected)
    }
  } finally {
    await store.close()
    await memory.close()
  }
}

describe('breakdown.lua against its TypeScript twin', () => {
  it('gives each tracked value the statistics its window gives, for any window length', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .tuple(transactionsArbitrary(10, 60), fc.array(burstArbitrary, { maxLength: 2 }))
          .map(([transactions, bursts]) => [...transactions, ...bursts.flat()]),
        // Reads at instants moving forward (so each value's kept sum of whole seconds is slid,
        // or summed again), each over its own window length, each after a few more transactions
        // (which the kept sums take in).
        fc.array(
          fc.record({
            after: fc.integer({ min: 0, max: 1_500 }),
            // Often the whole window, whose kept sums each next read slides; often a few
            // seconds, which cut the seconds around the instant.
            windowMs: fc.oneof(
              fc.constant(WINDOW_MS),
              fc.integer({ min: 1, max: WINDOW_MS }),
              fc.integer({ min: 1, max: 3_000 }),
            ),
            more: transactionsArbitrary(0, 5),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        agreeOn,
      ),
      { numRuns: 25 },
    )
  })

  it('reads a second cut at any millisecond, from its entries or spilled', async () => {
    await fc.assert(
      fc.asyncProperty(
        // A value's deltas, each a millisecond or a few apart, as many as a rollup holds or
        // more (spilled), and a read whose window starts at one of them.
        fc.integer({ min: 2, max: 3 * ROLLUP_ENTRIES }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 1_000 }),
        fc.nat(),
        async (n, step, age, at) => {
          const burst = Array.from({ length: n }, (_, i) => ({
            amount: (i % 7) - 3 + i / 100,
            age: age + i * step,
            value: 'm-1',
          }))
          await agreeOn(burst, [
            { after: 0, windowMs: age + (at % n) * step + 1, more: [] },
            { after: 0, windowMs: WINDOW_MS, more: [] },
          ])
        },
      ),
      { numRuns: 40 },
    )
  })
})
