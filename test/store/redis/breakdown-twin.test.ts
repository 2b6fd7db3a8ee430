import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { statisticsOf } from '../../../src/core/window/statistics.js'
import { breakdownHead, readSteps, stepEntries } from '../../../src/store/redis/breakdown.js'
import type { Reply, StepReply } from '../../../src/store/redis/commands.js'
import { BREAKDOWN } from '../../../src/store/redis/scripts.js'
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
 * length cut at any millisecond.
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
      ),
      value: fc.constantFrom(...VALUES),
    }),
    { minLength, maxLength },
  )

describe('breakdown.lua against its TypeScript twin', () => {
  it('gives each tracked value the statistics its window gives, for any window length', async () => {
    await fc.assert(
      fc.asyncProperty(
        transactionsArbitrary(10, 60),
        // Reads at instants moving forward (so each value's kept sum of whole seconds is slid,
        // or summed again), each over its own window length, each after a few more transactions
        // (which the kept sums take in).
        fc.array(
          fc.record({
            after: fc.integer({ min: 0, max: 1_500 }),
            // Often the whole window, whose kept sums each next read slides.
            windowMs: fc.oneof(fc.constant(WINDOW_MS), fc.integer({ min: 1, max: WINDOW_MS })),
            more: transactionsArbitrary(0, 5),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        async (transactions, reads) => {
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
              const head = breakdownHead(
                (await redis.eval(BREAKDOWN, 1, ...args(windowMs))) as Reply,
              )
              const steps = await readSteps(
                head,
                (step) =>
                  redis.callBuffer(
                    'EVAL',
                    BREAKDOWN,
                    1,
                    ...args(windowMs),
                    ...step,
                  ) as Promise<StepReply>,
              )
              const got = new Map<string, unknown>()
              for (const { value, aggregate } of steps.flatMap(stepEntries)) {
                got.set(value, statisticsOf(aggregate))
              }
              const expected = new Map<string, unknown>()
              for (const value of VALUES) {
                const statistics = await memory.statistics({
                  dimensionValue: { dimension: 'merchant', value },
                  windowMs,
                })
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
        },
      ),
      { numRuns: 25 },
    )
  })
})
