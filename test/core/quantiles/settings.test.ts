import { describe, expect, it } from 'vitest'
import { DEFAULT_QUANTILE_BUDGET_BYTES } from '../../../src/core/defaults.js'
import { QuantileMapping } from '../../../src/core/quantiles/quantile-mapping.js'
import { quantileFloorBytes, quantileSettings } from '../../../src/core/quantiles/settings.js'

describe('quantileSettings', () => {
  it('fills in the defaults', () => {
    const { mapping, budget } = quantileSettings({}, 60_000, 2_000)
    expect(budget).toBe(DEFAULT_QUANTILE_BUDGET_BYTES)
    expect(mapping.size).toBe(new QuantileMapping().size)
  })

  it('refuses a budget below the floor of the window, and takes the floor itself', () => {
    const floor = quantileFloorBytes(new QuantileMapping(0.01), 300_000, 2_000)
    expect(() =>
      quantileSettings({ accuracy: 0.01, budgetBytes: floor - 1 }, 300_000, 2_000),
    ).toThrow(RangeError)
    expect(quantileSettings({ accuracy: 0.01, budgetBytes: floor }, 300_000, 2_000).budget).toBe(
      floor,
    )
  })

  it('needs more room for a longer window and a finer accuracy', () => {
    const coarse = new QuantileMapping(0.02)
    const fine = new QuantileMapping(0.005)
    expect(quantileFloorBytes(coarse, 120_000, 0)).toBeGreaterThan(
      quantileFloorBytes(coarse, 60_000, 0),
    )
    expect(quantileFloorBytes(fine, 60_000, 0)).toBeGreaterThan(
      quantileFloorBytes(coarse, 60_000, 0),
    )
  })
})
