import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { BlockSketches } from '../../../src/core/quantiles/block-sketches.js'
import { QuantileCounts } from '../../../src/core/quantiles/quantile-counts.js'
import { QuantileMapping } from '../../../src/core/quantiles/quantile-mapping.js'
import { scriptPart } from '../../../src/store/redis/scripts.js'
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
/** Per level, ring slots for the window and the skew (powers of two), as the window gives them. */
const SLOTS = [16_384, 2_048, 256, 32]
const mapping = new QuantileMapping()

/**
 * sketches.lua run alone: a call per transaction (the sketches opened at the call's instant, the
 * transaction's index added at every level, written under the budget), then a merge of an
 * interval, as the record and snapshot scripts use them.
 */
const script = `${scriptPart('prelude')}
local MARGIN = 1000
${scriptPart('sketches')}
local now, window, clock = advance()
local s = openSketches(window, now, tonumber(ARGV[5]), clock, 600000)
if ARGV[6] == 'record' then
  local t = tonumber(ARGV[8])
  for level = 1, #SIZES do addToSketch(s, level, math.floor(t / SIZES[level]), 9, 1) end
  writeSketches(s, tonumber(ARGV[7]))
  saveSketches(s)
  return 1
end
local lo, hi, edge, flat = mergeSketches(s, tonumber(ARGV[7]), tonumber(ARGV[8]))
saveSketches(s)
local result = {lo, hi, edge}
for _, value in ipairs(flat) do result[#result + 1] = value end
return result`

/** The value of every rank of the counts (plus base's), lowest first: equal for equal counts. */
function everyRank(counts: QuantileCounts, base?: QuantileCounts): Record<string, number> {
  const total = counts.total + (base?.total ?? 0)
  const quantiles = Array.from({ length: total }, (_, k) =>
    total === 1 ? 0 : Math.min(1, (k + 0.5) / (total - 1)),
  )
  return counts.answer(quantiles, -1e300, 1e300, base)
}

let windows = 0

/** sketches.lua against BlockSketches (forgetBefore, #evict, merge) on the same cases. */
describe('sketches.lua against its TypeScript twin', () => {
  it('keeps, frees under the budget and merges the sketches the core keeps, edges cut alike', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            step: fc.integer({ min: 0, max: 700 }),
            age: fc.integer({ min: 0, max: WINDOW_MS - 1 }),
            amount: fc.integer({ min: 1, max: 1e6 }).map((cents) => cents / 100),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        // A budget that holds a few blocks at most, so that the finer levels are freed early.
        fc.integer({ min: 1_000, max: 20_000 }),
        fc.integer({ min: 1, max: WINDOW_MS }),
        async (transactions, budget, queryMs) => {
          const root = `${PREFIX}${++windows}:{k}:`
          const core = new BlockSketches(mapping, SLOTS, budget)
          const call = (now: number, ...args: Array<string | number>) =>
            redis.eval(script, 1, metaKey(root), root, now, WINDOW_MS, '', SKEW_MS, ...args)
          let now = START
          for (const { step, age, amount } of transactions) {
            now += step
            const index = mapping.index(amount)
            core.forgetBefore(now - WINDOW_MS + 1)
            core.record(now - age, index, now + SKEW_MS)
            await call(now, 'record', budget, now - age, index, 1)
          }
          const from = now - queryMs + 1
          const counts = new QuantileCounts(mapping)
          core.forgetBefore(now - WINDOW_MS + 1)
          const merged = core.merge(from, now, counts, now + SKEW_MS)
          const expected = { lo: merged.from, hi: merged.to, edge: merged.edgeMs }
          const expectedRanks = everyRank(counts, merged.base)

          const reply = (await call(now, 'merge', from, now)) as Array<number | string>
          const got = new QuantileCounts(mapping)
          for (let i = 3; i < reply.length; i += 2) got.add(Number(reply[i]), Number(reply[i + 1]))
          expect({ lo: reply[0], hi: reply[1], edge: reply[2] }).toEqual(expected)
          expect(everyRank(got)).toEqual(expectedRanks)
        },
      ),
      { numRuns: 40 },
    )
  })
})
