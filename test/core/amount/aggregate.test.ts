import { describe, expect, it } from 'vitest'
import { addAggregate, addAmount, emptyAggregate } from '../../../src/core/amount/aggregate.js'
import { LIMB_COUNT, writeLimbs } from '../../../src/core/amount/amount.js'
import { statisticsOf } from '../../../src/core/window/statistics.js'

function add(into: ReturnType<typeof emptyAggregate>, amount: number): void {
  const limbs = new Float64Array(LIMB_COUNT)
  writeLimbs(amount, limbs, 0)
  addAmount(into, limbs, amount)
}

describe('aggregates', () => {
  it('add amounts exactly, with their count, min and max', () => {
    const aggregate = emptyAggregate()
    for (const amount of [0.1, 0.2, -0.3, 1e20, -1e20]) add(aggregate, amount)
    expect(statisticsOf(aggregate)).toEqual({ sum: 0, avg: 0, max: 1e20, min: -1e20, count: 5 })
  })

  it('add into one another, and an empty one reads as zeros', () => {
    const a = emptyAggregate()
    const b = emptyAggregate()
    add(a, 0.1)
    add(b, 0.2)
    addAggregate(a, b)
    expect(statisticsOf(a)).toEqual({ sum: 0.3, avg: 0.15, max: 0.2, min: 0.1, count: 2 })
    expect(statisticsOf(emptyAggregate())).toEqual({ sum: 0, avg: 0, max: 0, min: 0, count: 0 })
  })
})
