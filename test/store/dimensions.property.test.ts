import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../support/fake-clock.js'
import { OracleWindow } from '../support/oracle.js'
import { DIMENSIONS, dimensionStep, SKEW_MS, WINDOW_MS, withinAWindow } from '../support/steps.js'
import { openStore, STORE_KINDS, type StoreKind } from '../support/stores.js'

/**
 * Each shard tracks its own values, so only below the bound do shards answer as one window does;
 * at the bound they are held to the identities instead (dimensions.test.ts).
 */
const MAX_VALUES: Record<StoreKind, number> = { memory: 3, redis: 3, 'redis, 3 shards': 6 }
const RUNS: Record<StoreKind, number> = { memory: 100, redis: 20, 'redis, 3 shards': 10 }

describe.each(STORE_KINDS)('dimensions on the %s store against the oracle', (kind) => {
  it('gives every value its exact statistics, and breakdowns whose parts add up to the window, at the bound and as values leave', async () => {
    let asked = 0
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(dimensionStep, { minLength: 30, maxLength: 80 })
          .map((sequence) => (kind === 'redis, 3 shards' ? withinAWindow(sequence) : sequence)),
        async (sequence) => {
          const clock = new FakeClock()
          const maxValues = MAX_VALUES[kind]
          const store = await openStore(kind, {
            windowMs: WINDOW_MS,
            clockSkewMs: SKEW_MS,
            clock: clock.read,
            dimensions: DIMENSIONS,
            dimensionMaxValues: maxValues,
          })
          const oracle = new OracleWindow(WINDOW_MS, SKEW_MS, clock.read, {
            names: DIMENSIONS,
            maxValues,
          })
          try {
            for (const s of sequence) {
              if (s.kind === 'record') {
                const timestamp = clock.current + s.offset
                const [outcome] = await store.record([{ amount: s.amount, timestamp, ...s.fields }])
                expect(outcome).toBe(oracle.record(s.amount, timestamp, s.fields))
              } else if (s.kind === 'advance' || s.kind === 'back') {
                clock.advance(s.kind === 'back' ? -s.ms : s.ms)
              } else if (s.kind === 'value') {
                asked++
                const dimensionValue = { dimension: s.dimension, value: s.value }
                expect(await store.statistics({ windowMs: s.windowMs, dimensionValue })).toEqual(
                  oracle.valueStatistics(s.dimension, s.value, s.windowMs),
                )
              } else {
                asked++
                const { kind: _, ...query } = s
                const answer = await store.breakdown(query)
                expect(answer).toEqual(oracle.breakdown(s.dimension, s.order, s.limit, s.windowMs))
              }
            }
          } finally {
            await store.close()
          }
        },
      ),
      { numRuns: RUNS[kind] },
    )
    expect(asked).toBeGreaterThan(RUNS[kind] * 3)
  }, 90_000)
})
