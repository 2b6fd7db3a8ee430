import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { NOW, postRaw, statistics, type TestApp, testApp } from '../support/http.js'
import { exactDecimal, toDouble } from '../support/oracle.js'
import { describeStores, HTTP_STORE_KINDS } from '../support/stores.js'

const SCALE_DIGITS = 40

/** The decimal a JSON number literal denotes, × 10^40, or undefined when finer than that. */
function writtenDecimal(literal: string): bigint | undefined {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal)
  if (!match) throw new Error(`not a JSON number: ${literal}`)
  const [, sign, whole, fraction = '', exponent = '0'] = match
  const shift = SCALE_DIGITS + Number(exponent) - fraction.length
  if (shift < 0) return undefined
  const magnitude = BigInt(`${whole}${fraction}`) * 10n ** BigInt(shift)
  return sign === '-' ? -magnitude : magnitude
}

/** A double's own decimal, × 10^40, or undefined outside what the oracle reads. */
function doubleDecimal(value: number): bigint | undefined {
  try {
    return exactDecimal(value)
  } catch {
    return undefined
  }
}

/** JSON number literals with up to 25 significant digits, signs, points and exponents. */
const literal = fc
  .record({
    negative: fc.boolean(),
    digits: fc.stringMatching(/^[1-9]\d{0,24}$/),
    point: fc.nat({ max: 25 }),
    exponent: fc.option(fc.integer({ min: -30, max: 30 }), { nil: undefined }),
    upper: fc.boolean(),
  })
  .map(({ negative, digits, point, exponent, upper }) => {
    const at = Math.min(point, digits.length - 1)
    const mantissa = at === 0 ? digits : `${digits.slice(0, at)}.${digits.slice(at)}`
    const e = exponent === undefined ? '' : `${upper ? 'E' : 'e'}${exponent}`
    return `${negative ? '-' : ''}${mantissa}${e}`
  })

const ONE_E_MINUS_18 = 10n ** BigInt(SCALE_DIGITS - 18)

describeStores(HTTP_STORE_KINDS, (store) => {
  let t: TestApp
  beforeAll(async () => {
    t = await testApp({ store })
  })
  afterAll(() => t.app.close())

  const post = (amount: string) =>
    postRaw(
      t.app,
      '/transactions',
      `{"amount": ${amount}, "timestamp": ${NOW}}`,
      'application/json',
    )

  it('refuses the amounts an outside probe saw changed silently', async () => {
    for (const amount of [
      '1000000000000000000001',
      '1.0000000000000000001',
      '0.1234567890123456789',
      '1e-400',
      '123456789.123456789',
    ]) {
      const response = await post(amount)
      expect(response.statusCode, amount).toBe(422)
      expect(response.json().errors).toEqual([
        { field: 'amount', message: expect.stringMatching(/exactly as written/) },
      ])
    }
    expect((await statistics(t.app)).count).toBe(0)
  })

  it('stores exactly the decimal written, or answers 422: never anything else', async () => {
    const outcomes = { stored: 0, refused: 0 }
    await fc.assert(
      fc.asyncProperty(literal, async (amount) => {
        await t.app.inject({ method: 'DELETE', url: '/transactions' })
        const response = await post(amount)
        if (response.statusCode === 422) {
          outcomes.refused++
          expect(response.json().errors[0].field).toBe('amount')
          return
        }
        expect(response.statusCode).toBe(201)
        outcomes.stored++
        const written = writtenDecimal(amount)
        expect(written, 'stored an amount finer than 10^-18').not.toBeUndefined()
        // What the service holds is the double's decimal: it must be the decimal written.
        expect(doubleDecimal(Number(amount))).toBe(written)
        // And the exact sum sees it: written + 10^-18, rounded once.
        expect((await post('1e-18')).statusCode).toBe(201)
        const expected = toDouble((written as bigint) + ONE_E_MINUS_18, 10n ** BigInt(SCALE_DIGITS))
        expect(await statistics(t.app)).toMatchObject({ count: 2, sum: expected })
      }),
      { numRuns: store === 'memory' ? 1_000 : 300 },
    )
    // Both answers happen: the property is not true by refusing, or accepting, everything.
    expect(outcomes.stored).toBeGreaterThan(50)
    expect(outcomes.refused).toBeGreaterThan(50)
  })
})
