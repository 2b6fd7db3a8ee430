import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { coarsestLevel, LEVELS } from '../../../src/core/blocks/levels.js'
import { RollingWindow } from '../../../src/core/window/window.js'
import { blockPlace } from '../../../src/store/redis/layout.js'
import { scriptPart } from '../../../src/store/redis/scripts.js'
import { REDIS_URL } from '../../support/stores.js'

const redis = new Redis(REDIS_URL)
afterAll(() => redis.disconnect())
const meta = `test:prelude:${process.pid}:${Date.now()}`
const COARSEST = LEVELS[LEVELS.length - 1] as number

/**
 * The blocks covering [from, to] as RollingWindow walks them: from an aligned base, the coarsest
 * level whose block fits at each offset (coarsestLevel), as (1-based level, block) pairs.
 */
function coreBlocks(from: number, to: number): number[][] {
  const blocks: number[][] = []
  const base = Math.floor(from / COARSEST) * COARSEST
  for (let offset = from - base; offset <= to - base; ) {
    const level = coarsestLevel(offset, to - base)
    const size = LEVELS[level] as number
    blocks.push([level + 1, (base + offset) / size])
    offset += size
  }
  return blocks
}

/** prelude.lua, run alone, against the core's window on the same cases. */
describe('prelude.lua against its TypeScript twin', () => {
  it('covers an interval with the same blocks as the window (eachBlock)', async () => {
    const script = `${scriptPart('prelude')}
local blocks = {}
eachBlock(tonumber(ARGV[5]), tonumber(ARGV[6]), function(level, block)
  blocks[#blocks + 1] = {level, block}
end)
return blocks`
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2_000_000_000_000 }),
        fc.integer({ min: 0, max: 300_000 }),
        async (from, length) => {
          const got = await redis.eval(
            script,
            1,
            meta,
            'root:',
            '',
            '60000',
            '',
            from,
            from + length,
          )
          expect(got).toEqual(coreBlocks(from, from + length))
        },
      ),
      { numRuns: 200 },
    )
  })

  it('puts each block in the same hash and field as the writer does (place)', async () => {
    const script = `${scriptPart('prelude')}
local places = {}
for i = 5, #ARGV, 2 do
  local hash, name = place('w:', tonumber(ARGV[i]), tonumber(ARGV[i + 1]))
  places[#places + 1] = {hash, name}
end
return places`
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: LEVELS.length - 1 }),
            fc.integer({ min: 0, max: 2_000_000_000_000 }),
          ),
          { minLength: 1, maxLength: 50 },
        ),
        async (blocks) => {
          const numbers = blocks.map(([level, at]) => Math.floor(at / (LEVELS[level] as number)))
          const args = blocks.flatMap(([level], k) => [level + 1, numbers[k] as number])
          const got = await redis.eval(script, 1, meta, 'root:', '', '60000', '', ...args)
          const expected = blocks.map(([level], k) => {
            const place = blockPlace(level, numbers[k] as number)
            return [`w:${place.hash}`, place.field]
          })
          expect(got).toEqual(expected)
          // No two blocks share a field.
          const held = new Map<string, string>()
          blocks.forEach(([level], k) => {
            const where = (expected[k] as string[]).join('|')
            const block = `${level}:${numbers[k]}`
            expect(held.get(where) ?? block).toBe(block)
            held.set(where, block)
          })
        },
      ),
      { numRuns: 100 },
    )
  })

  it('holds the clock monotonic and starts afresh at the same readings (advance)', async () => {
    // One call steps the clock through every reading: at (ARGV[2]) is the injected clock.
    const script = `${scriptPart('prelude')}
redis.call('DEL', meta)
local shown = {}
for i = 5, #ARGV do
  at = ARGV[i]
  local now, window = advance()
  shown[#shown + 1] = {now, window}
end
redis.call('DEL', meta)
return shown`
    const windowMs = 1000
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1_000_000, max: 2_000_000 }),
        // Steps back to just within, exactly at and just past a whole window, and any other.
        fc.array(
          fc.oneof(
            fc.constantFrom(-windowMs + 1, -windowMs, -windowMs - 1, 0),
            fc.integer({ min: -2500, max: 1500 }),
          ),
          { minLength: 1, maxLength: 40 },
        ),
        async (start, steps) => {
          const readings: number[] = []
          for (const step of steps) readings.push((readings.at(-1) ?? start) + step)
          let reading = start
          const window = new RollingWindow({ windowMs, clock: () => reading })
          // The core shows an earlier instant than it showed only when it starts afresh.
          let generation = 0
          const expected: Array<[number, string]> = []
          for (const next of readings) {
            reading = next
            const now = window.now()
            if (now < (expected.at(-1)?.[0] ?? now)) generation++
            expected.push([now, `root:${generation}:`])
          }
          const got = (await redis.eval(
            script,
            1,
            meta,
            'root:',
            '',
            String(windowMs),
            '',
            ...readings,
          )) as Array<[number, string]>
          expect(got).toEqual(expected)
        },
      ),
      { numRuns: 100 },
    )
  })
})
