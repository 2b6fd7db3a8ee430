import { describe, expect, it } from 'vitest'
import { BREAKDOWN_STEP_VALUES } from '../../../src/store/redis/breakdown.js'
import { connectRedis } from '../../../src/store/redis/client.js'
import { RedisStore } from '../../../src/store/redis/store.js'
import { FakeClock } from '../../support/fake-clock.js'
import { OracleWindow } from '../../support/oracle.js'
import { deleteKeys, REDIS_URL, silent, waitUntilReady } from '../../support/stores.js'

const VALUES = 300

describe('a breakdown on Redis', () => {
  it('reads its values in steps of a few, one call each, and answers as one read would', async () => {
    const clock = new FakeClock(1_800_000_000_000)
    const client = connectRedis({ url: REDIS_URL, cluster: false, timeoutMs: 5_000 })
    const prefix = `test:${process.pid}:breakdown-steps:${Date.now()}:`
    const store = new RedisStore({
      client,
      prefix,
      clock: clock.read,
      dimensions: ['merchant'],
      dimensionMaxValues: VALUES,
    })
    // Every breakdown call the store makes, by the arguments after the common ones.
    const calls: string[][] = []
    const head = client.txstatsBreakdown.bind(client)
    client.txstatsBreakdown = ((meta: string, args: string[]) => {
      calls.push(args)
      return head(meta, args)
    }) as typeof client.txstatsBreakdown
    const step = client.txstatsBreakdownBuffer.bind(client)
    client.txstatsBreakdownBuffer = ((meta: string, args: string[]) => {
      calls.push(args)
      return step(meta, args)
    }) as typeof client.txstatsBreakdownBuffer
    const truth = new OracleWindow(60_000, 2_000, clock.read, {
      names: ['merchant'],
      maxValues: Number.POSITIVE_INFINITY,
    })
    try {
      store.connect(silent)
      await waitUntilReady(store)
      const batch = Array.from({ length: VALUES * 3 }, (_, i) => ({
        amount: (i % 89) / 10,
        timestamp: clock.current - ((i * 7_919) % 50_000),
        merchant: `m-${i % VALUES}`,
      }))
      await store.record(batch)
      for (const { amount, timestamp, merchant } of batch) {
        truth.record(amount, timestamp, { merchant })
      }
      const query = { dimension: 'merchant', order: 'count' as const, limit: VALUES }
      expect(await store.breakdown(query)).toEqual(truth.breakdown('merchant', 'count', VALUES))
      // The first call lists the values; each later one is sent a few (past its 8 arguments)
      // and reads as many as its share of reads allows, so it takes several, each starting
      // where the one before stopped.
      expect(calls[0]).toHaveLength(6)
      const sent = calls.slice(1).map((args) => args.slice(8))
      expect(sent.length).toBeGreaterThanOrEqual(Math.ceil(VALUES / BREAKDOWN_STEP_VALUES))
      expect(Math.max(...sent.map((values) => values.length))).toBe(BREAKDOWN_STEP_VALUES)
      expect(new Set(sent.flat()).size).toBe(VALUES)
    } finally {
      await store.close()
      await deleteKeys(prefix)
    }
  })
})
