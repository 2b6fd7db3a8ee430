import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { quantileRank } from '../../../src/core/quantiles/quantile-rank.js'
import { exactRank } from '../../support/oracle.js'

describe('quantileRank', () => {
  it('is exact where the product of doubles falls just short of an integer', () => {
    expect(0.29 * 100).toBeLessThan(29) // the defect it prevents
    expect(quantileRank(0.29, 101)).toBe(29)
    expect(quantileRank(0.57, 101)).toBe(57)
    expect(quantileRank(0.58, 101)).toBe(58)
    expect(quantileRank(0.1, 31)).toBe(3)
  })

  it('gives the first and the last rank for 0 and 1, and reads exponents', () => {
    expect(quantileRank(0, 1)).toBe(0)
    expect(quantileRank(1, 1)).toBe(0)
    expect(quantileRank(1, 1_000_000)).toBe(999_999)
    expect(quantileRank(1e-7, 10_000_001)).toBe(1)
    expect(quantileRank(5e-324, 2)).toBe(0)
  })

  it('refuses what is not a quantile or a count', () => {
    expect(() => quantileRank(1.5, 10)).toThrow(RangeError)
    expect(() => quantileRank(Number.NaN, 10)).toThrow(RangeError)
    expect(() => quantileRank(0.5, 0)).toThrow(RangeError)
  })

  it('agrees with the oracle on short decimals and on any double', () => {
    const q = fc.oneof(
      fc.integer({ min: 0, max: 1_000 }).map((k) => k / 1_000),
      fc.double({ min: 0, max: 1, noNaN: true }),
    )
    fc.assert(
      fc.property(q, fc.integer({ min: 1, max: 10_000_000 }), (q, n) => {
        expect(quantileRank(q, n)).toBe(exactRank(q, n))
      }),
    )
  })
})
