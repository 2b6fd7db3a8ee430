import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { QuantileMapping } from '../../src/core/quantile-mapping.js'
import { quantileFloorBytes } from '../../src/core/window.js'
import { FakeClock } from '../support/fake-clock.js'
import { expectQuantiles, OracleWindow } from '../support/oracle.js'
import { scatteredAmount } from '../support/steps.js'
import { openStore, prefixOf, REDIS_URL, STORE_KINDS } from '../support/stores.js'

const WINDOW_MS = 10_000
const ACCURACY = 0.05 // the coarsest: the smallest floor, so the least traffic fills the budget
const FLOOR = quantileFloorBytes(new QuantileMapping(ACCURACY), WINDOW_MS, 0)
const BUDGET = FLOOR + 2 ** 20
const QUANTILES = [0, 0.01, 0.5, 0.99, 1]
const redis = new Redis(REDIS_URL)
afterAll(() => redis.disconnect())

/** The bytes each shard of a Redis store charges its sketches (the state's b field). */
async function chargedPerShard(prefix: string): Promise<number[]> {
  const states = await redis.keys(`${prefix}*q`)
  return Promise.all(states.map(async (key) => Number(await redis.hget(key, 'b'))))
}

describe.each(STORE_KINDS)('quantiles on the %s store, under a memory budget', (kind) => {
  it('cut edges coarser under the worst traffic and say so, keep the five numbers exact, and recover', async () => {
    const clock = new FakeClock(1_700_000_000_000)
    const store = await openStore(kind, {
      windowMs: WINDOW_MS,
      clockSkewMs: 0,
      clock: clock.read,
      quantiles: { accuracy: ACCURACY, budgetBytes: BUDGET },
    })
    const oracle = new OracleWindow(WINDOW_MS, 0, clock.read)
    try {
      let recorded = 0
      const edges = new Set<number>()
      // Batches of 1 000 transactions, each in a bucket and a millisecond of its own, three at a
      // time: a call of each goes to each of three shards.
      for (let batch = 0; batch < 12; batch++) {
        for (let call = 0; call < 3; call++) {
          const transactions = Array.from({ length: 1_000 }, (_, i) => ({
            amount: scatteredAmount(recorded++),
            timestamp: clock.current - i,
          }))
          await store.record(transactions)
          for (const { amount, timestamp } of transactions) oracle.record(amount, timestamp)
        }
        const { quantiles, quantileEdgeMs, ...five } = await store.statistics({
          quantiles: QUANTILES,
        })
        expect(five).toEqual(oracle.snapshot()) // the exact numbers are never affected
        expect(Object.keys(quantiles ?? {})).toHaveLength(QUANTILES.length)
        edges.add(quantileEdgeMs as number)
        const prefix = prefixOf(store)
        if (prefix)
          for (const bytes of await chargedPerShard(prefix))
            expect(bytes).toBeLessThanOrEqual(BUDGET)
        clock.advance(500)
      }
      expect([...edges].some((edge) => edge > 1)).toBe(true)

      // Normal traffic again: once the window is past the freed blocks, the edges are exact.
      clock.advance(WINDOW_MS)
      for (let k = 0; k < 50; k++) {
        const amount = k / 4 - 5
        await store.record([{ amount, timestamp: clock.current - k }])
        oracle.record(amount, clock.current - k)
      }
      expectQuantiles(await store.statistics({ quantiles: QUANTILES }), oracle, QUANTILES, ACCURACY)
    } finally {
      await store.close()
    }
  }, 30_000)
})
