import { describe, expect, it } from 'vitest'
import { queryKey } from '../../../src/core/window/statistics.js'

describe('queryKey', () => {
  it('names the same query alike and different queries apart', () => {
    expect(queryKey(undefined)).toBe('')
    expect(queryKey({ windowMs: 5, quantiles: [0.5] })).toBe(
      queryKey({ windowMs: 5, quantiles: [0.5] }),
    )
    const keys = [
      {},
      { windowMs: 5 },
      { quantiles: [0.5] },
      { windowMs: 5, quantiles: [0.5] },
      { dimensionValue: { dimension: 'a', value: 'b:c' } },
      { dimensionValue: { dimension: 'a:b', value: 'c' } },
    ].map(queryKey)
    expect(new Set(keys).size).toBe(keys.length)
  })
})
