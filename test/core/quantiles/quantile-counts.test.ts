import { describe, expect, it } from 'vitest'
import { DEFAULT_QUANTILE_ACCURACY } from '../../../src/core/defaults.js'
import { QuantileCounts } from '../../../src/core/quantiles/quantile-counts.js'
import { QuantileMapping } from '../../../src/core/quantiles/quantile-mapping.js'

const mapping = new QuantileMapping(DEFAULT_QUANTILE_ACCURACY)

function countsOf(amounts: readonly number[]): QuantileCounts {
  const counts = new QuantileCounts(mapping)
  for (const amount of amounts) counts.add(mapping.index(amount), 1)
  return counts
}

describe('QuantileCounts', () => {
  it('answers each quantile within α of the amount at its rank, q = 0 and 1 exactly', () => {
    const amounts = Array.from({ length: 101 }, (_, i) => i + 1) // 1 … 101
    const answer = countsOf(amounts).answer([0, 0.29, 0.5, 1], 1, 101)
    expect(answer['0']).toBe(1)
    expect(answer['1']).toBe(101)
    // rank ⌊0.29 × 100⌋ = 29 exactly: the amount 30 (not 29, as 0.29 × 100 in doubles would say)
    expect(Math.abs((answer['0.29'] as number) - 30) / 30).toBeLessThanOrEqual(
      DEFAULT_QUANTILE_ACCURACY,
    )
    expect(Math.abs((answer['0.5'] as number) - 51) / 51).toBeLessThanOrEqual(
      DEFAULT_QUANTILE_ACCURACY,
    )
  })

  it('answers zeros when nothing was counted', () => {
    expect(new QuantileCounts(mapping).answer([0.5, 0.99], 0, 0)).toEqual({ '0.5': 0, '0.99': 0 })
  })

  it('clears its counts after answering, and counts against a base (negative counts allowed)', () => {
    const base = countsOf([10, 20, 30, 40])
    const taken = new QuantileCounts(mapping)
    taken.add(mapping.index(40), -1) // the base without its 40
    const answer = taken.answer([1], 10, 30, base)
    expect(answer['1']).toBe(30)
    expect(taken.total).toBe(0)
    expect(base.total).toBe(4) // the base is never cleared by another's answer
  })

  it('keeps answers within [min, max] when a bucket reaches beyond them', () => {
    const counts = countsOf([100, 100, 100])
    const answer = counts.answer([0.5], 100, 100)
    expect(answer['0.5']).toBe(100)
  })
})
