import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { byValueOrder, Candidates, isAdmissionTry } from '../../../src/core/dimensions/admission.js'
import { scriptPart } from '../../../src/store/redis/scripts.js'
import { REDIS_URL } from '../../support/stores.js'

const redis = new Redis(REDIS_URL)
afterAll(() => redis.disconnect())
const key = `test:admission:${process.pid}:${Date.now()}`

/** admission.lua, run alone, against admission.ts on the same cases. */
describe('admission.lua against its TypeScript twin', () => {
  it('tries for a place at the same counts', async () => {
    const script = `${scriptPart('admission')}
local tries = {}
for after = 0, 70 do
  for before = 0, after do
    if isAdmissionTry(before, after) then tries[#tries + 1] = before .. ':' .. after end
  end
end
return tries`
    const expected: string[] = []
    for (let after = 0; after <= 70; after++) {
      for (let before = 0; before <= after; before++) {
        if (isAdmissionTry(before, after)) expected.push(`${before}:${after}`)
      }
    }
    expect(await redis.eval(script, 0)).toEqual(expected)
  })

  it('keeps the same Misra–Gries counts, step by step', async () => {
    const script = `${scriptPart('admission')}
local counts = {}
redis.call('DEL', KEYS[1])
for i = 2, #ARGV, 2 do
  counts[#counts + 1] = countCandidate(KEYS[1], ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[1]))
end
redis.call('DEL', KEYS[1])
return counts`
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(
          fc.tuple(
            fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'),
            fc.integer({ min: 1, max: 4 }),
          ),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
        async (capacity, steps) => {
          const twin = new Candidates(capacity)
          const expected = steps.map(([value, n]) => twin.add(value, n))
          const args = [capacity, ...steps.flat()].map(String)
          expect(await redis.eval(script, 1, key, ...args)).toEqual(expected)
        },
      ),
      { numRuns: 50 },
    )
  })

  it('orders values as a sorted set orders equal scores', async () => {
    const zset = `${key}:order`
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }), {
          minLength: 2,
          maxLength: 20,
        }),
        async (values) => {
          await redis.del(zset)
          await redis.zadd(zset, ...values.flatMap((value) => ['0', value]))
          const ordered = await redis.zrange(zset, '0', '-1')
          expect(ordered).toEqual([...values].sort(byValueOrder))
        },
      ),
      { numRuns: 50 },
    )
    await redis.del(zset)
  })
})
