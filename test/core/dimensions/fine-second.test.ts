import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { emptyAggregate } from '../../../src/core/amount/aggregate.js'
import { LIMB_COUNT, writeLimbs } from '../../../src/core/amount/amount.js'
import { ROW_FIELDS } from '../../../src/core/blocks/row.js'
import { addFine, addToFine, FINE_ROWS } from '../../../src/core/dimensions/fine-second.js'
import { statisticsOf } from '../../../src/core/window/statistics.js'

describe('a fine second', () => {
  it('reads any cut [lo, hi] of its milliseconds as the transactions in it, exactly', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            offset: fc.integer({ min: 0, max: 999 }),
            cents: fc.integer({ min: -9999, max: 9999 }),
          }),
          {
            maxLength: 60,
          },
        ),
        fc.integer({ min: 0, max: 999 }),
        fc.integer({ min: 0, max: 999 }),
        (transactions, a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a]
          const fine = new Float64Array(FINE_ROWS * ROW_FIELDS)
          const limbs = new Float64Array(LIMB_COUNT)
          for (const { offset, cents } of transactions) {
            limbs.fill(0)
            writeLimbs(cents / 100, limbs, 0)
            addToFine(fine, offset, cents / 100, limbs)
          }
          const cut = emptyAggregate()
          addFine(cut, fine, lo, hi)
          const inside = transactions.filter((t) => t.offset >= lo && t.offset <= hi)
          const cents = inside.reduce((sum, t) => sum + t.cents, 0)
          const read = statisticsOf(cut)
          expect(read.count).toBe(inside.length)
          expect(read.sum).toBe(cents / 100)
          if (inside.length > 0) {
            expect(read.min).toBe(Math.min(...inside.map((t) => t.cents)) / 100)
            expect(read.max).toBe(Math.max(...inside.map((t) => t.cents)) / 100)
          }
        },
      ),
    )
  })
})
