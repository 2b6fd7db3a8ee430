import { describe, expect, it } from 'vitest'
import { emptyAggregate } from '../../../src/core/amount/aggregate.js'
import { LIMB_COUNT, writeLimbs } from '../../../src/core/amount/amount.js'
import { addRow, COUNT, MAX, MIN, ROW_FIELDS, SUM, TAG } from '../../../src/core/blocks/row.js'
import { statisticsOf } from '../../../src/core/window/statistics.js'

describe('a row', () => {
  it('lays out tag, count, the limbs, min and max, and adds into an aggregate exactly', () => {
    expect([TAG, COUNT, SUM, MIN, MAX, ROW_FIELDS]).toEqual([
      0,
      1,
      2,
      2 + LIMB_COUNT,
      3 + LIMB_COUNT,
      4 + LIMB_COUNT,
    ])
    const rows = new Float64Array(2 * ROW_FIELDS)
    for (const [row, amount, count] of [
      [0, 0.1, 1],
      [1, 0.2, 2],
    ] as const) {
      const at = row * ROW_FIELDS
      rows[at + COUNT] = count
      writeLimbs(amount * count, rows, at + SUM)
      rows[at + MIN] = amount
      rows[at + MAX] = amount
    }
    const into = emptyAggregate()
    addRow(into, rows, 0)
    addRow(into, rows, ROW_FIELDS)
    expect(statisticsOf(into)).toEqual({ sum: 0.5, avg: 0.5 / 3, max: 0.2, min: 0.1, count: 3 })
  })
})
