import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  amountProblem,
  isWrittenExactly,
  LIMB_COUNT,
  writeLimbs,
} from '../../../src/core/amount/amount.js'
import { limbsToBigInt } from '../../../src/core/amount/exact-sum.js'
import { exactDecimal, isExactAmount } from '../../support/oracle.js'

function scaled(amount: number): bigint | undefined {
  const limbs = new Float64Array(LIMB_COUNT)
  return writeLimbs(amount, limbs, 0) ? limbsToBigInt(limbs, 0) : undefined
}

const anyAmount = fc.oneof(
  fc.double({ min: -1e21, max: 1e21, noNaN: true }),
  // whole cents, on both sides of the fast path's limit
  fc.integer({ min: -1e14, max: 1e14 }).map((cents) => cents / 100),
  fc.integer({ min: -1e17, max: 1e17 }).map((cents) => cents / 100),
  fc.double({ min: 9.9e11, max: 1.01e12, noNaN: true }),
)

describe('amounts', () => {
  it('are the decimal their shortest form denotes, scaled by 10^18', () => {
    expect(scaled(12.3)).toBe(12_300_000_000_000_000_000n)
    expect(scaled(-0.1)).toBe(-100_000_000_000_000_000n)
    expect(scaled(1.5e-7)).toBe(150_000_000_000n)
    expect(scaled(1e15)).toBe(10n ** 33n)
    expect(scaled(1e20)).toBe(10n ** 38n)
    expect(scaled(-1e21)).toBe(-(10n ** 39n))
    expect(scaled(123456789012345680000)).toBe(123456789012345680000n * 10n ** 18n)
    expect(scaled(0.30000000000000004)).toBe(300_000_000_000_000_040n)
    expect(scaled(0)).toBe(0n)
    expect(scaled(-123_456_789_012.34)).toBe(-123_456_789_012_340_000_000_000_000_000n)
    expect(scaled(0.07)).toBe(70_000_000_000_000_000n)
  })

  it('agree with the oracle on every double in the domain', () => {
    fc.assert(
      fc.property(anyAmount, (amount) => {
        const value = scaled(amount)
        const expected = isExactAmount(amount) ? exactDecimal(amount) : undefined
        expect(value === undefined ? undefined : value * 10n ** 22n).toBe(expected)
      }),
      { numRuns: 20_000 },
    )
  })

  it('explain why they are refused', () => {
    expect(amountProblem(Infinity)).toBe('must be a finite number')
    expect(amountProblem(2e21)).toMatch(/between/)
    expect(amountProblem(1e-19)).toMatch(/18 digits after the decimal point/)
    expect(amountProblem(0.01)).toBeUndefined()
  })

  it('tell a literal written exactly from one a double changed', () => {
    const exactly = (text: string) => isWrittenExactly(text, Number(text))
    for (const text of [
      '12.3',
      '12.30',
      '1.23e1',
      '1E2',
      '-0',
      '0.0',
      '0.30000000000000004',
      '1e21',
      '5e-324',
    ]) {
      expect(exactly(text), text).toBe(true)
    }
    for (const text of [
      '1.0000000000000000001',
      '1e-400',
      '1e400',
      '9007199254740993',
      '0.1234567890123456789',
    ]) {
      expect(exactly(text), text).toBe(false)
    }
  })

  it('find every double written in its shortest form exact, and one more digit not', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(isWrittenExactly(String(value), value)).toBe(true)
        const text = String(Math.abs(value))
        if (/e/.test(text) || value === 0) return
        const longer = `${text.includes('.') ? text : `${text}.`}${'0'.repeat(20)}1`
        expect(isWrittenExactly(longer, Number(longer))).toBe(false)
      }),
      { numRuns: 5_000 },
    )
  })
})
