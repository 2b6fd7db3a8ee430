import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  addLimbs,
  limbsToBigInt,
  roundQuotient,
  writeSumAndMean,
} from '../../../src/core/amount/exact-sum.js'
import { toDouble } from '../../support/oracle.js'

describe('exact sums', () => {
  it('carry between limbs without losing a unit', () => {
    const total = new Float64Array(5)
    const almost = Float64Array.of(999_999_999, 999_999_999, 999_999_999, 999_999_999, 0)
    addLimbs(total, 0, almost, 0)
    addLimbs(total, 0, Float64Array.of(1, 0, 0, 0, 0), 0)
    expect(limbsToBigInt(total, 0)).toBe(10n ** 36n)
    addLimbs(total, 0, Float64Array.of(-1, 0, 0, 0, -1), 0)
    expect(limbsToBigInt(total, 0)).toBe(10n ** 36n - 1n - 10n ** 36n)
  })

  it('round a quotient once, to the nearest double', () => {
    expect(roundQuotient(1n, 3n)).toBe(1 / 3)
    expect(roundQuotient(-7n, 2n)).toBe(-3.5)
    expect(roundQuotient(0n, 5n)).toBe(0)
    // 2^53 + 1 is a tie between two doubles: ties go to the even one
    expect(roundQuotient(2n ** 53n + 1n, 1n)).toBe(2 ** 53)
    expect(roundQuotient(2n ** 53n + 3n, 1n)).toBe(2 ** 53 + 4)
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }),
        fc.bigInt({ min: 1n, max: 10n ** 30n }),
        (n, d) => {
          expect(roundQuotient(n, d)).toBe(toDouble(n, d))
        },
      ),
      { numRuns: 5_000 },
    )
  })
})

describe('writeSumAndMean', () => {
  const limb = fc.integer({ min: -999_999_999, max: 999_999_999 })
  const limbs = fc.oneof(
    fc.tuple(limb, limb, limb, limb, fc.integer({ min: -2e3, max: 2e3 })),
    fc.tuple(limb, limb, limb, fc.integer({ min: -2e7, max: 2e7 }), fc.constant(0)),
    // sums of amounts with few decimals: the fast path
    fc.tuple(
      fc.constant(0),
      fc
        .tuple(limb, fc.integer({ min: 0, max: 9 }))
        .map(([v, z]) => Math.trunc(v / 10 ** z) * 10 ** z),
      limb,
      fc.integer({ min: -1e7, max: 1e7 }),
      fc.constant(0),
    ),
  )

  it('agrees with BigInt rounding on both paths', () => {
    fc.assert(
      fc.property(limbs, fc.integer({ min: 1, max: 2 ** 40 }), (parts, count) => {
        const total = Float64Array.from(parts)
        const out = { sum: 0, avg: 0 }
        writeSumAndMean(total, count, out)
        const scaled = limbsToBigInt(total, 0)
        expect(out.sum).toBe(toDouble(scaled, 10n ** 18n))
        expect(out.avg).toBe(toDouble(scaled, 10n ** 18n * BigInt(count)))
      }),
      { numRuns: 5_000 },
    )
  })
})
