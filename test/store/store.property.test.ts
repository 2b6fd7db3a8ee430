import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/store/memory.js'
import { FakeClock } from '../support/fake-clock.js'
import { expectQuantiles, OracleWindow } from '../support/oracle.js'
import { SKEW_MS, step, WINDOW_MS, withinAWindow } from '../support/steps.js'
import { openStore, STORE_KINDS } from '../support/stores.js'

/** What shards are tested against: agreement on one instant under steps back and forth. */
const shardedSteps = fc
  .array(step, { minLength: 30, maxLength: 60 })
  .map((sequence) => withinAWindow(sequence))

/** The default accuracy, which every store is opened with. */
const ACCURACY = 0.01

/** Fewer runs over the network: each step is a round trip. */
const RUNS = { memory: 100, redis: 40, 'redis, 3 shards': 25 } as const

describe.each(STORE_KINDS)('the %s store against a brute-force oracle', (kind) => {
  it('gives identical outcomes, snapshots, series and quantiles, of the window or its last ms, for any sequence of steps', async () => {
    let steps = 0
    await fc.assert(
      fc.asyncProperty(
        kind === 'redis, 3 shards'
          ? shardedSteps
          : fc.array(step, { minLength: 30, maxLength: 60 }),
        async (sequence) => {
          const clock = new FakeClock()
          const options = { windowMs: WINDOW_MS, clockSkewMs: SKEW_MS, clock: clock.read }
          const store = await openStore(kind, options)
          // Quantiles are estimates: every store must give the same one as the memory store.
          const twin = new MemoryStore(options)
          const oracle = new OracleWindow(WINDOW_MS, SKEW_MS, clock.read)
          try {
            for (const s of sequence) {
              steps++
              if (s.kind === 'record') {
                const timestamp = clock.current + s.offset
                const [outcome] = await store.record([{ amount: s.amount, timestamp }])
                expect(outcome).toBe(oracle.record(s.amount, timestamp))
                twin.record([{ amount: s.amount, timestamp }])
                continue
              }
              if (s.kind === 'advance' || s.kind === 'back') {
                clock.advance(s.kind === 'back' ? -s.ms : s.ms)
                continue
              }
              if (s.kind === 'series') {
                expect(await store.series(s.windowMs)).toEqual(oracle.series(s.windowMs))
              } else if (s.quantiles === undefined) {
                const query = s.windowMs === undefined ? undefined : { windowMs: s.windowMs }
                expect(await store.statistics(query)).toEqual(oracle.snapshot(s.windowMs))
              } else {
                const query = { windowMs: s.windowMs, quantiles: s.quantiles }
                const answer = await store.statistics(query)
                expectQuantiles(answer, oracle, s.quantiles, ACCURACY, s.windowMs)
                expect(answer).toEqual(twin.statistics(query))
              }
              // The twin is shown the clock whenever the store is: a window's instant depends on
              // the readings it was shown.
              twin.statistics()
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
