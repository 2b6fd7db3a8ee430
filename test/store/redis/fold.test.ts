import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { limbsToBigInt } from '../../../src/core/amount/exact-sum.js'
import { QuantileMapping } from '../../../src/core/quantiles/quantile-mapping.js'
import { fold, unfold } from '../../../src/store/redis/fold.js'

const mapping = new QuantileMapping(0.01)

/** Up to 200 transactions of any amount, exact or not, at timestamps 0 to maxMs. */
const transactionsUpTo = (maxMs: number) =>
  fc.array(
    fc.record({
      amount: fc.oneof(
        fc.double({ noNaN: true }),
        fc.integer().map((n) => n / 100),
      ),
      timestamp: fc.integer({ min: 0, max: maxMs }),
    }),
    { maxLength: 200 },
  )

import { exactDecimal, isExactAmount } from '../../support/oracle.js'

describe('fold', () => {
  it('folds the transactions of a millisecond into one delta, keeping amounts outside the domain apart', () => {
    const folded = fold(
      [
        { amount: 0.1, timestamp: 5 },
        { amount: 1e-19, timestamp: 5 },
        { amount: 0.2, timestamp: 5 },
        { amount: -3, timestamp: 6 },
        { amount: 1e-19, timestamp: 5 },
      ],
      mapping,
    )
    expect(Array.from(folded.deltaOf)).toEqual([0, 1, 0, 2, 1])
    expect(
      folded.deltas.map(({ timestamp, count, min, max, valid }) => ({
        timestamp,
        count,
        min,
        max,
        valid,
      })),
    ).toEqual([
      { timestamp: 5, count: 2, min: 0.1, max: 0.2, valid: true },
      {
        timestamp: 5,
        count: 2,
        min: Number.POSITIVE_INFINITY,
        max: Number.NEGATIVE_INFINITY,
        valid: false,
      },
      { timestamp: 6, count: 1, min: -3, max: -3, valid: true },
    ])
    expect(unfold('sao', folded)).toBe('saso' + 'a')
  })

  it('keeps each delta exact: its limbs hold the exact sum of its amounts (property)', () => {
    fc.assert(
      fc.property(transactionsUpTo(5), (transactions) => {
        const { deltas, deltaOf } = fold(transactions, mapping)
        deltas.forEach((delta, at) => {
          const mine = transactions.filter((_, i) => deltaOf[i] === at)
          expect(mine.every(({ timestamp }) => timestamp === delta.timestamp)).toBe(true)
          expect(mine.every(({ amount }) => isExactAmount(amount) === delta.valid)).toBe(true)
          expect(delta.count).toBe(mine.length)
          if (!delta.valid) return
          const exact = mine.reduce((sum, { amount }) => sum + exactDecimal(amount), 0n)
          // The limbs hold amount × 10^18; the oracle works at 10^40.
          expect(limbsToBigInt(delta.limbs, 0) * 10n ** 22n).toBe(exact)
          expect(delta.min).toBe(Math.min(...mine.map(({ amount }) => amount)) || 0)
          expect(delta.max).toBe(Math.max(...mine.map(({ amount }) => amount)) || 0)
          // Each amount counted once, in its own quantile index.
          const indices = new Map<number, number>()
          for (const { amount } of mine) {
            const index = mapping.index(amount)
            indices.set(index, (indices.get(index) ?? 0) + 1)
          }
          expect(delta.indices).toEqual(indices)
        })
      }),
    )
  })
})
