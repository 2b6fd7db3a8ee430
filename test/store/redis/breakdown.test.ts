import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { BREAKDOWN_STEP_VALUES } from '../../../src/store/redis/breakdown.js'
import { BREAKDOWN } from '../../../src/store/redis/scripts.js'
import { FakeClock } from '../../support/fake-clock.js'
import { OracleWindow } from '../../support/oracle.js'
import { until } from '../../support/redis-server.js'
import { openStore, prefixOf, REDIS_URL } from '../../support/stores.js'

const VALUES = 100

describe('a breakdown on Redis', () => {
  it('reads its values in steps of a few, one call each, and answers as one read would', async () => {
    const clock = new FakeClock(1_800_000_000_000)
    const store = await openStore('redis', {
      clock: clock.read,
      dimensions: ['merchant'],
      dimensionMaxValues: VALUES,
    })
    const truth = new OracleWindow(60_000, 2_000, clock.read, {
      names: ['merchant'],
      maxValues: Number.POSITIVE_INFINITY,
    })
    const monitor = await new Redis(REDIS_URL).monitor()
    try {
      const batch = Array.from({ length: VALUES * 3 }, (_, i) => ({
        amount: (i % 89) / 10,
        timestamp: clock.current - ((i * 7_919) % 50_000),
        merchant: `m-${i % VALUES}`,
      }))
      await store.record(batch)
      for (const { amount, timestamp, merchant } of batch) {
        truth.record(amount, timestamp, { merchant })
      }
      const sha = createHash('sha1').update(BREAKDOWN).digest('hex')
      const prefix = prefixOf(store) as string
      const calls: string[][] = []
      monitor.on('monitor', (_time: string, args: string[]) => {
        // Steps only: the first call, which lists the values, may send the script itself.
        if (args[1] === sha && args[3]?.startsWith(prefix) && args.length > 4 + 6) {
          calls.push(args)
        }
      })
      const query = { dimension: 'merchant', order: 'count' as const, limit: VALUES }
      expect(await store.breakdown(query)).toEqual(truth.breakdown('merchant', 'count', VALUES))
      // Each step reads a few values, past its 8 arguments.
      const readIn = () => calls.map((args) => args.length - 4 - 8)
      // MONITOR's reports come on their own connection, maybe after the answer.
      await until(() => readIn().reduce((sum, n) => sum + n, 0) >= VALUES)
      const read = readIn()
      expect(read).toHaveLength(Math.ceil(VALUES / BREAKDOWN_STEP_VALUES))
      expect(read.reduce((sum, n) => sum + n, 0)).toBe(VALUES)
      expect(Math.max(...read)).toBe(BREAKDOWN_STEP_VALUES)
    } finally {
      monitor.disconnect()
      await store.close()
    }
  })
})
