import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { LIMB_COUNT } from '../../../src/core/amount/amount.js'
import { RollingWindow } from '../../../src/core/window/window.js'
import { mergeStatistics, type Reply } from '../../../src/store/redis/commands.js'
import { scriptPart } from '../../../src/store/redis/scripts.js'
import { metaKey, shardRoots } from '../../../src/store/redis/shards.js'
import { openStore, prefixOf, REDIS_URL } from '../../support/stores.js'

const redis = new Redis(REDIS_URL)
afterAll(() => redis.disconnect())

const WINDOW_MS = 60_000
const NOW = 1_800_000_000_123

/**
 * aggregate.lua, run alone, reads back what the record script wrote for each asked window, over
 * every writer's partition.
 */
const script = `${scriptPart('prelude')}
${scriptPart('aggregate')}
local now, window = advance()
local partitions = partitionsOf(window, now)
local result = {}
for i = 5, #ARGV do
  result[#result + 1] = aggregateAll(partitions, now - tonumber(ARGV[i]) + 1, now)
end
return result`

/** aggregate.lua against the core's window (RollingWindow.#aggregate), on the same transactions. */
describe('aggregate.lua against its TypeScript twin', () => {
  it('gives the statistics the window gives, for any window length cut at any millisecond', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            amount: fc.integer({ min: -1e12, max: 1e12 }).map((cents) => cents / 100),
            age: fc.integer({ min: 0, max: WINDOW_MS - 1 }),
          }),
          { maxLength: 40 },
        ),
        fc.array(fc.integer({ min: 1, max: WINDOW_MS }), { minLength: 1, maxLength: 8 }),
        async (transactions, windows) => {
          const clock = () => NOW
          const core = new RollingWindow({ windowMs: WINDOW_MS, clock })
          const store = await openStore('redis', { clock, windowMs: WINDOW_MS })
          const other = await openStore('redis', { clock, windowMs: WINDOW_MS }, prefixOf(store))
          try {
            const written = transactions.map(({ amount, age }) => ({
              amount,
              timestamp: NOW - age,
            }))
            // Two writers, so that the twin also merges partitions.
            const half = Math.floor(written.length / 2)
            await store.record(written.slice(0, half))
            await other.record(written.slice(half))
            for (const { amount, timestamp } of written) core.record(amount, timestamp)
            const root = shardRoots(prefixOf(store) as string, 1)[0] as string
            const replies = (await redis.eval(
              script,
              1,
              metaKey(root),
              root,
              String(NOW),
              String(WINDOW_MS),
              '',
              ...windows.map(String),
            )) as Reply[]
            const limbs = new Float64Array(LIMB_COUNT)
            const got = replies.map((reply) => mergeStatistics([reply], 0, limbs))
            expect(got).toEqual(windows.map((windowMs) => core.query({ windowMs })))
          } finally {
            await other.close()
            await store.close()
          }
        },
      ),
      { numRuns: 30 },
    )
  })
})
