import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { LEVELS } from '../../src/core/blocks/levels.js'
import { SKETCH_BYTES, SKETCH_ENTRY_BYTES } from '../../src/core/quantiles/block-sketches.js'
import { QuantileMapping } from '../../src/core/quantiles/quantile-mapping.js'
import { quantileFloorBytes } from '../../src/core/quantiles/settings.js'
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

/**
 * What each writer's sketches in Redis (partition-sketches.ts) of the blocks in the window at
 * `now` would be charged as the core charges them: per partition, the blocks at or after its
 * pointers (those a read may use), and every block its hashes still hold (those freed early in a
 * group not yet freed whole too).
 */
async function chargedPerPartition(prefix: string, now: number) {
  const charged = new Map<string, { read: number; held: number }>()
  for (const key of await redis.keys(`${prefix}*:part:*:q[0-9]:*`)) {
    const [, partition = '', level = '', group = ''] = /^(.*):q(\d):(\d+)$/.exec(key) ?? []
    const kept = Number((await redis.hget(`${partition}:qk`, `k${level}`)) || -Infinity)
    const entries = new Map<number, number>()
    for (const field of await redis.hkeys(key)) {
      const block = Number(group) * 10 + Number(field.split(':')[0])
      if ((block + 1) * (LEVELS[Number(level) - 1] as number) <= now - WINDOW_MS + 1) continue
      entries.set(block, (entries.get(block) ?? 0) + 1)
    }
    const sum = charged.get(partition) ?? { read: 0, held: 0 }
    for (const [block, n] of entries) {
      const bytes = SKETCH_BYTES + n * SKETCH_ENTRY_BYTES
      sum.held += bytes
      if (block >= kept) sum.read += bytes
    }
    charged.set(partition, sum)
  }
  return [...charged.values()]
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
        if (prefix) {
          for (const { read, held } of await chargedPerPartition(prefix, clock.current)) {
            expect(read).toBeLessThanOrEqual(BUDGET)
            // A group of ten blocks leaves Redis once all ten are freed: at most nine of each
            // finer level's blocks linger (here at most 3, 30 and 300 amounts each: a batch
            // puts one in each millisecond, and three go in before the clock moves).
            expect(held).toBeLessThanOrEqual(
              BUDGET + 9 * (3 * SKETCH_BYTES + 333 * SKETCH_ENTRY_BYTES),
            )
          }
        }
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

describe.each(STORE_KINDS)('quantiles on the %s store, at their edges', (kind) => {
  it('rank exactly, give the exact min and max for 0 and 1, and 0 when empty', async () => {
    const clock = new FakeClock(1_700_000_000_000)
    const store = await openStore(kind, { windowMs: WINDOW_MS, clock: clock.read, quantiles: {} })
    try {
      const empty = await store.statistics({ quantiles: [0, 0.5, 1] })
      expect(empty.quantiles).toEqual({ '0': 0, '0.5': 0, '1': 0 })
      // 1 … 101, and the extremes off their buckets' values: 0.29 × 100 is 28.999… in doubles,
      // which would answer the amount 29 (3 % off) instead of 30.
      const amounts = Array.from({ length: 101 }, (_, i) => i + 1)
      amounts[0] = 1.001
      amounts[100] = 100.999
      const now = clock.read()
      await store.record(amounts.map((amount, i) => ({ amount, timestamp: now - (i % 50) })))
      const { quantiles } = await store.statistics({ quantiles: [0, 0.29, 0.57, 1] })
      expect(quantiles?.['0']).toBe(1.001)
      expect(quantiles?.['1']).toBe(100.999)
      expect(Math.abs((quantiles?.['0.29'] as number) - 30)).toBeLessThanOrEqual(30 * 0.01)
      expect(Math.abs((quantiles?.['0.57'] as number) - 58)).toBeLessThanOrEqual(58 * 0.01)
    } finally {
      await store.close()
    }
  })
})

describe('quantiles of the memory store', () => {
  it('are of the same instant as the five numbers, however the clock moves while answering', async () => {
    // A clock that moves 1 ms at every reading once started: a read that looked twice would take
    // its quantiles a millisecond after its five numbers, when the small amount has left.
    let now = 1_700_000_000_000
    let ticking = false
    const store = await openStore('memory', {
      windowMs: 1_000,
      clockSkewMs: 0,
      clock: () => (ticking ? now++ : now),
      quantiles: {},
    })
    await store.record([
      { amount: 1, timestamp: now - 999 },
      { amount: 500, timestamp: now },
    ])
    ticking = true
    const answer = await store.statistics({ quantiles: [0, 1] })
    expect(answer.count).toBe(2)
    expect(answer.quantiles).toEqual({ '0': 1, '1': 500 })
    expect(answer.quantileEdgeMs).toBe(1)
  })
})
