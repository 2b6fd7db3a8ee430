import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RollingWindow } from '../../../src/core/window/window.js'
import { FakeClock } from '../../support/fake-clock.js'
import { expectQuantiles, OracleWindow } from '../../support/oracle.js'

const ACCURACY = 0.01

import { keepQuantiles } from '../../../src/core/quantiles/window-quantiles.js'
import { SKEW_MS, step, WINDOW_MS } from '../../support/steps.js'

describe('RollingWindow against a brute-force oracle', () => {
  it('gives identical outcomes and snapshots, and quantiles within the accuracy, for any sequence of steps', () => {
    let steps = 0
    fc.assert(
      fc.property(fc.array(step, { minLength: 30, maxLength: 80 }), (sequence) => {
        const clock = new FakeClock()
        const options = {
          windowMs: WINDOW_MS,
          clockSkewMs: SKEW_MS,
          clock: clock.read,
          quantiles: keepQuantiles({ accuracy: ACCURACY }),
        }
        const window = new RollingWindow(options)
        const oracle = new OracleWindow(WINDOW_MS, SKEW_MS, clock.read)
        for (const s of sequence) {
          steps++
          if (s.kind === 'record') {
            const timestamp = clock.current + s.offset
            expect(window.record(s.amount, timestamp)).toBe(oracle.record(s.amount, timestamp))
          } else if (s.kind === 'advance') clock.advance(s.ms)
          else if (s.kind === 'back') clock.advance(-s.ms)
          else if (s.kind === 'series') {
            expect(window.series(s.windowMs)).toEqual(oracle.series(s.windowMs))
          } else if (s.quantiles === undefined) {
            expect(window.snapshot(s.windowMs)).toEqual(oracle.snapshot(s.windowMs))
          } else {
            const answer = window.query({ windowMs: s.windowMs, quantiles: s.quantiles })
            expectQuantiles(answer, oracle, s.quantiles, ACCURACY, s.windowMs)
          }
        }
        expect(window.snapshot()).toEqual(oracle.snapshot())
      }),
      { numRuns: 250 },
    )
    expect(steps).toBeGreaterThan(5_000)
  }, 30_000) // about 3 s alone; CI runs it beside the Redis suites on two cores
})
