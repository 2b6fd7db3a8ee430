import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { OUTCOME_LETTERS } from '../../../src/core/idempotency/idempotency.js'
import { RollingWindow } from '../../../src/core/window/window.js'
import { pushRecordGroup, recordHeader } from '../../../src/store/redis/commands.js'
import { fold, unfold } from '../../../src/store/redis/fold.js'
import { recordScript } from '../../../src/store/redis/scripts.js'
import { metaKey } from '../../../src/store/redis/shards.js'
import { REDIS_URL } from '../../support/stores.js'

const redis = new Redis(REDIS_URL)
afterAll(() => redis.disconnect())

const WINDOW_MS = 1_000
const SKEW_MS = 200
const NOW = 1_800_000_000_000
let windows = 0

/**
 * record.lua, run alone with arguments encoded as the store encodes them, against the core's
 * window: the same outcome for every transaction, whatever its timestamp and amount.
 */
describe('record.lua against its TypeScript twin', () => {
  it('stores, refuses as too old or too far ahead, and refuses invalid amounts as the window does', async () => {
    const script = recordScript({ sketches: false, dimensions: false })
    await fc.assert(
      fc.asyncProperty(
        fc.array(
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
        ),
        async (transactions) => {
          const core = new RollingWindow({
            windowMs: WINDOW_MS,
            clockSkewMs: SKEW_MS,
            clock: () => NOW,
          })
          const expected = transactions
            .map(({ amount, timestamp }) => OUTCOME_LETTERS[core.record(amount, timestamp)])
            .join('')
          const root = `test:record-twin:${process.pid}:${Date.now()}:${++windows}:{r}:`
          const args = recordHeader({
            root,
            at: String(NOW),
            windowMs: String(WINDOW_MS),
            floor: '',
            clockSkewMs: String(SKEW_MS),
            ttlFloorMs: 10_000,
            retentionMs: '60000',
            budgetBytes: '1000000',
            sketchBudget: '',
            dimensions: 0,
            maxValues: '0',
            clientShareBytes: '1000000',
          })
          const folded = fold(transactions, undefined)
          pushRecordGroup(args, undefined, folded)
          const [now, letters] = (await redis.eval(script, 1, metaKey(root), ...args)) as [
            number,
            string,
          ]
          const written = await redis.keys(`${root}*`)
          if (written.length > 0) await redis.del(...written)
          expect(now).toBe(NOW)
          expect(unfold(letters, folded)).toBe(expected)
        },
      ),
      { numRuns: 60 },
    )
  })
})
