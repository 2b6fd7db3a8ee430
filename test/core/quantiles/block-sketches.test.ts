import { describe, expect, it } from 'vitest'
import { QuantileMapping } from '../../../src/core/quantiles/quantile-mapping.js'
import { quantileFloorBytes } from '../../../src/core/quantiles/settings.js'
import { keepQuantiles } from '../../../src/core/quantiles/window-quantiles.js'
import { RollingWindow } from '../../../src/core/window/window.js'
import { FakeClock } from '../../support/fake-clock.js'
import { expectQuantiles, OracleWindow } from '../../support/oracle.js'
import { scatteredAmount } from '../../support/steps.js'

const WINDOW_MS = 10_000
const ACCURACY = 0.01
const FLOOR = quantileFloorBytes(new QuantileMapping(ACCURACY), WINDOW_MS, 0)
const BUDGET = FLOOR + 2 * 2 ** 20
const PER_MS = 4

describe('quantile sketches under a memory budget', () => {
  it('never charge more than the budget, cut edges coarser under pressure and say so, and recover', () => {
    const clock = new FakeClock(1_700_000_000_000)
    const window = new RollingWindow({
      windowMs: WINDOW_MS,
      clockSkewMs: 0,
      clock: clock.read,
      quantiles: keepQuantiles({ accuracy: ACCURACY, budgetBytes: BUDGET }),
    })
    const oracle = new OracleWindow(WINDOW_MS, 0, clock.read)
    let recorded = 0
    let largest = 0
    const edges = new Set<number>()
    // Every millisecond used, every transaction in a bucket of its own: the worst traffic.
    for (let ms = 0; ms < 3 * WINDOW_MS; ms++) {
      for (let k = 0; k < PER_MS; k++) {
        const amount = scatteredAmount(recorded++)
        expect(window.record(amount, clock.current)).toBe('stored')
        oracle.record(amount, clock.current)
      }
      largest = Math.max(largest, window.quantileBytes)
      if (ms % 500 === 0) {
        const answer = window.query({ quantiles: [0, 0.5, 1] })
        const { quantiles, quantileEdgeMs, ...five } = answer
        expect(five).toEqual(window.snapshot()) // the exact numbers are never affected
        edges.add(quantileEdgeMs as number)
      }
      clock.advance(1)
    }
    expect(largest).toBeLessThanOrEqual(BUDGET)
    expect(largest).toBeGreaterThan(BUDGET - 2 ** 20)
    expect([...edges].some((edge) => edge > 1)).toBe(true)
    expect(window.snapshot().count).toBe((WINDOW_MS - 1) * PER_MS) // the last ms is still to come

    // Normal traffic again: once the window has moved past the freed blocks, edges are exact.
    for (let ms = 0; ms < WINDOW_MS + 1_000; ms++) {
      if (ms % 7 === 0) {
        const amount = (ms % 1_000) / 100 - 3
        window.record(amount, clock.current)
        oracle.record(amount, clock.current)
      }
      clock.advance(1)
    }
    expect(window.quantileBytes).toBeLessThan(FLOOR)
    expectQuantiles(
      window.query({ quantiles: [0, 0.01, 0.5, 0.99, 1] }),
      oracle,
      [0, 0.01, 0.5, 0.99, 1],
      ACCURACY,
    )
  }, 30_000)

  it('refuse a budget below the floor, naming the least that works', () => {
    expect(
      () =>
        new RollingWindow({
          windowMs: WINDOW_MS,
          quantiles: keepQuantiles({ budgetBytes: FLOOR - 1 }),
        }),
    ).toThrow(/at least \d+ MiB/)
  })
})
