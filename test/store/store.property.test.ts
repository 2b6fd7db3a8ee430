import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../core/fake-clock.js'
import { OracleWindow } from '../core/oracle.js'
import { SKEW_MS, step, WINDOW_MS } from '../core/steps.js'
import { openStore, STORE_KINDS } from './stores.js'

/**
 * Shards each hold their own monotonic instant. A clock step back of a whole window is seen by
 * the shard it reaches first, which starts afresh; the others hold still until their clock
 * passes their latest instant (design.md, "Redis store: the clock"). So for shards, the steps
 * back stay under a window: what they are tested against is agreement under skew, not resets.
 */
const shardedStep = step.filter((s) => s.kind !== 'back' || s.ms < WINDOW_MS)

/** Fewer runs over the network: each step is a round trip. */
const RUNS = { memory: 100, redis: 40, 'redis, 3 shards': 25 } as const

describe.each(STORE_KINDS)('the %s store against a brute-force oracle', (kind) => {
  it('gives identical outcomes, snapshots and series for any sequence of steps', async () => {
    let steps = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(kind === 'redis, 3 shards' ? shardedStep : step, { minLength: 30, maxLength: 60 }),
        async (sequence) => {
          const clock = new FakeClock()
          const options = { windowMs: WINDOW_MS, clockSkewMs: SKEW_MS, clock: clock.read }
          const store = await openStore(kind, options)
          const oracle = new OracleWindow(WINDOW_MS, SKEW_MS, clock.read)
          try {
            for (const s of sequence) {
              steps++
              if (s.kind === 'record') {
                const timestamp = clock.current + s.offset
                const [outcome] = await store.record([{ amount: s.amount, timestamp }])
                expect(outcome).toBe(oracle.record(s.amount, timestamp))
              } else if (s.kind === 'advance') clock.advance(s.ms)
              else if (s.kind === 'back') clock.advance(-s.ms)
              else if (s.kind === 'series') expect(await store.series()).toEqual(oracle.series())
              else expect(await store.statistics()).toEqual(oracle.snapshot())
            }
            expect(await store.statistics()).toEqual(oracle.snapshot())
          } finally {
            await store.close()
          }
        },
      ),
      { numRuns: RUNS[kind] },
    )
    expect(steps).toBeGreaterThan(RUNS[kind] * 30)
  }, 60_000)
})
