import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { QuantileCounts } from '../../../src/core/quantiles/quantile-counts.js'
import { QuantileMapping } from '../../../src/core/quantiles/quantile-mapping.js'
import { SketchTable } from '../../../src/core/quantiles/sketch-table.js'

const mapping = new QuantileMapping(0.01)
const indices = fc.array(fc.integer({ min: 0, max: mapping.size - 1 }), { maxLength: 3_000 })

/** A quantile whose rank ⌊q × (n − 1)⌋ is r, safe from rounding. */
function quantileOfRank(r: number, n: number): number {
  return r === n - 1 ? 1 : (r + 0.5) / (n - 1)
}

describe('SketchTable', () => {
  it('counts each index as a Map would, through every doubling, and says which are new', () => {
    fc.assert(
      fc.property(indices, (added) => {
        const table = new SketchTable()
        const expected = new Map<number, number>()
        for (const index of added) {
          expect(table.increment(index)).toBe(!expected.has(index))
          expected.set(index, (expected.get(index) ?? 0) + 1)
        }
        expect(table.size).toBe(expected.size)
        if (added.length === 0) return
        // Merged into counts, each index holds exactly its ranks: its first and its last rank
        // are answered with its value.
        const counts = new QuantileCounts(mapping)
        table.addTo(counts)
        expect(counts.total).toBe(added.length)
        const asked: number[] = []
        const values: number[] = []
        let rank = 0
        for (const [index, count] of [...expected].sort((a, b) => a[0] - b[0])) {
          for (const r of new Set([rank, rank + count - 1])) {
            asked.push(quantileOfRank(r, added.length))
            values.push(mapping.value(index))
          }
          rank += count
        }
        // The extremes given are the first and last index's values: the first and the last rank
        // are answered with them exactly, as every other rank with its index's value.
        const sorted = [...expected.keys()].sort((a, b) => a - b)
        const min = mapping.value(sorted[0] as number)
        const max = mapping.value(sorted.at(-1) as number)
        const answer = counts.answer(asked, min, max)
        expect(asked.map((q) => answer[String(q)])).toEqual(values)
      }),
      { numRuns: 200 },
    )
  })

  it('takes itself back out of counts (sign -1), and is empty once reset', () => {
    const table = new SketchTable()
    for (const index of [5, 5, 900, 4_000]) table.increment(index)
    const counts = new QuantileCounts(mapping)
    table.addTo(counts)
    table.addTo(counts, -1)
    expect(counts.total).toBe(0)
    expect(counts.answer([0.5], 0, 0)).toEqual({ '0.5': 0 })
    table.reset()
    expect(table.size).toBe(0)
    expect(table.increment(5)).toBe(true)
  })
})
