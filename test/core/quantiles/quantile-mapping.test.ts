import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { QuantileMapping } from '../../../src/core/quantiles/quantile-mapping.js'
import { isExactAmount } from '../../support/oracle.js'
import { amount } from '../../support/steps.js'

const accepted = amount.filter(isExactAmount)

describe.each([0.001, 0.01, 0.05])('the quantile mapping at α = %s', (accuracy) => {
  const mapping = new QuantileMapping(accuracy)

  it('puts every accepted amount in an index whose value is within α of it', () => {
    fc.assert(
      fc.property(accepted, (x) => {
        const index = mapping.index(x)
        expect(Number.isInteger(index) && index >= 0 && index < mapping.size).toBe(true)
        const value = mapping.value(index)
        expect(Math.abs(value - x)).toBeLessThanOrEqual(Math.abs(x) * accuracy * (1 + 1e-9))
      }),
      { numRuns: 2_000 },
    )
  })

  it('orders indices as it orders amounts, negatives below zero below positives', () => {
    fc.assert(
      fc.property(accepted, accepted, (x, y) => {
        if (x < y) expect(mapping.index(x)).toBeLessThanOrEqual(mapping.index(y))
      }),
      { numRuns: 2_000 },
    )
    expect(mapping.index(0)).toBe(mapping.zero)
    expect(mapping.index(-0)).toBe(mapping.zero)
    expect(mapping.value(mapping.zero)).toBe(0)
    expect(mapping.index(-1e-18)).toBe(mapping.zero - 1)
    expect(mapping.index(1e-18)).toBe(mapping.zero + 1)
    expect(mapping.index(-1e21)).toBe(0)
    expect(mapping.index(1e21)).toBe(mapping.size - 1)
  })
})

it('refuses an accuracy outside 0.1 % to 5 %', () => {
  for (const accuracy of [0, 0.0009, 0.051, Number.NaN]) {
    expect(() => new QuantileMapping(accuracy)).toThrow(RangeError)
  }
})
