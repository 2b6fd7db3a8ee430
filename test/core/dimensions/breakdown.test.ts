import { describe, expect, it } from 'vitest'
import { type Aggregate, addAmount, emptyAggregate } from '../../../src/core/amount/aggregate.js'
import { LIMB_COUNT, writeLimbs } from '../../../src/core/amount/amount.js'
import { rankBreakdown } from '../../../src/core/dimensions/breakdown.js'
import { ValueTable } from '../../../src/core/dimensions/value-table.js'

function aggregateOf(...amounts: number[]): Aggregate {
  const aggregate = emptyAggregate()
  const limbs = new Float64Array(LIMB_COUNT)
  for (const amount of amounts) {
    limbs.fill(0)
    writeLimbs(amount, limbs, 0)
    addAmount(aggregate, limbs, amount)
  }
  return aggregate
}

function table(rows: Record<string, number[]>): ValueTable {
  const values = new ValueTable(2) // small, so that adding grows it
  for (const [name, amounts] of Object.entries(rows))
    values.add(name, aggregateOf(...amounts), false)
  return values
}

describe('rankBreakdown', () => {
  it('lists the top values by exact sum, ties by value, and folds the rest and the overflow into other', () => {
    const values = table({ b: [0.1, 0.2], a: [0.3], c: [5], d: [1] })
    const breakdown = rankBreakdown(
      { dimension: 'merchant', order: 'sum', limit: 3 },
      values,
      aggregateOf(100),
      aggregateOf(7),
    )
    expect(breakdown.values.map((entry) => [entry.value, entry.sum])).toEqual([
      ['c', 5],
      ['d', 1],
      ['a', 0.3], // 0.1 + 0.2 is exactly 0.3 here: a tie, ordered by value
    ])
    expect(breakdown.other).toMatchObject({ count: 3, sum: 100.3, min: 0.1, max: 100 })
    expect(breakdown.missing).toMatchObject({ count: 1, sum: 7 })
  })

  it('orders by count when asked, and leaves out values without transactions', () => {
    const values = table({ one: [50], two: [1, 1], none: [] })
    const breakdown = rankBreakdown(
      { dimension: 'merchant', order: 'count', limit: 10 },
      values,
      emptyAggregate(),
      emptyAggregate(),
    )
    expect(breakdown.values.map((entry) => entry.value)).toEqual(['two', 'one'])
    expect(breakdown.other.count).toBe(0)
  })
})

describe('ValueTable', () => {
  it("merges a value's aggregates (one per shard) and keeps it incomplete once marked", () => {
    const values = new ValueTable(1)
    values.add('m', aggregateOf(1, 2), false)
    values.add('m', aggregateOf(3), true)
    values.add('n', aggregateOf(4), false)
    expect(values.size).toBe(2)
    const merged = emptyAggregate()
    values.addTo(merged, 0)
    expect(merged).toMatchObject({ count: 3, min: 1, max: 3 })
    expect(values.incomplete(0)).toBe(true)
    values.markIncomplete('n')
    expect(values.incomplete(1)).toBe(true)
    values.clear()
    expect(values.size).toBe(0)
  })

  it('compares exact sums, not their doubles', () => {
    const values = new ValueTable()
    values.add('x', aggregateOf(0.1, 0.2), false) // exactly 0.3
    values.add('y', aggregateOf(0.3), false)
    values.add('z', aggregateOf(0.30000000000000004), false)
    expect(values.compareSums(0, 1)).toBe(0)
    expect(values.compareSums(2, 1)).toBeGreaterThan(0)
  })
})
