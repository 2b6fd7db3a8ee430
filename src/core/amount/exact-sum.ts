import { FRACTION_DIGITS, LIMB_BASE, LIMB_COUNT } from './amount.js'

/**
 * Exact sums of scaled amounts held as LIMB_COUNT limbs in a Float64Array.
 *
 * Invariant: every limb but the top one stays strictly inside (-LIMB_BASE, LIMB_BASE), because
 * each addition carries at most one unit upwards. The top limb takes the carries; it grows by at
 * most 10^3 + 1 per amount (MAX_ABS_AMOUNT × 10^18 / 10^36), so it stays an exact integer for more than
 * 9 × 10^12 amounts of the largest size in one slot. Limbs may differ in sign: the value is
 * Σ limb[i] × LIMB_BASE^i all the same.
 */

const SCALE = 10n ** BigInt(FRACTION_DIGITS)
const BIG_BASE = BigInt(LIMB_BASE)
const TOP = LIMB_COUNT - 1
const LIMB_DIGITS = 9
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]
/** Keeps top × LIMB_BASE below 2^53, so the whole part is exact. */
const MAX_EXACT_TOP = 9_000_000 // for limb 3, below a top limb of 0

export function addLimbs(dst: Float64Array, d: number, src: Float64Array, s: number): void {
  let carry = 0
  for (let i = 0; i < TOP; i++) {
    let limb = (dst[d + i] as number) + (src[s + i] as number) + carry
    carry = 0
    if (limb >= LIMB_BASE) {
      limb -= LIMB_BASE
      carry = 1
    } else if (limb <= -LIMB_BASE) {
      limb += LIMB_BASE
      carry = -1
    }
    dst[d + i] = limb
  }
  dst[d + TOP] = (dst[d + TOP] as number) + (src[s + TOP] as number) + carry
}

/** The scaled integer (amount × 10^FRACTION_DIGITS) that the limbs hold. */
export function limbsToBigInt(limbs: Float64Array, offset: number): bigint {
  let value = 0n
  for (let i = TOP; i >= 0; i--) value = value * BIG_BASE + BigInt(limbs[offset + i] as number)
  return value
}

/** Where the sum and mean of a snapshot are written. */
export interface SumAndMean {
  sum: number
  avg: number
}

/**
 * Writes the exact sum held by the limbs (at offset 0), and that sum divided by `count`, each
 * rounded once to the nearest double.
 *
 * Fast path: when the sum is N / 10^k with N an exact double (sums of amounts with few decimals,
 * the usual case), one IEEE division by 10^k, or by 10^k × count when that is exact too, rounds
 * correctly. Otherwise the quotient is rounded from BigInts.
 */
export function writeSumAndMean(limbs: Float64Array, count: number, out: SumAndMean): void {
  const digits = fractionDigits(limbs)
  const scale = POW10[digits] as number
  const numerator = digits <= LIMB_DIGITS ? exactNumerator(limbs, digits, scale) : Number.NaN
  if (Number.isNaN(numerator)) {
    const scaled = limbsToBigInt(limbs, 0)
    out.sum = roundQuotient(scaled, SCALE)
    out.avg = roundQuotient(scaled, SCALE * BigInt(count))
    return
  }
  out.sum = numerator / scale
  const denominator = scale * count
  out.avg =
    denominator <= Number.MAX_SAFE_INTEGER
      ? numerator / denominator
      : roundQuotient(limbsToBigInt(limbs, 0), SCALE * BigInt(count))
}

/** How many decimals the sum needs: trailing zeros dropped, up to FRACTION_DIGITS. */
function fractionDigits(limbs: Float64Array): number {
  if (limbs[0] !== 0) return FRACTION_DIGITS
  const fraction = limbs[1] as number
  if (fraction === 0) return 0
  for (let digits = 1; digits < LIMB_DIGITS; digits++) {
    if (fraction % (POW10[LIMB_DIGITS - digits] as number) === 0) return digits
  }
  return LIMB_DIGITS
}

/** The sum × 10^digits as a double when that is an exact integer, otherwise NaN. */
function exactNumerator(limbs: Float64Array, digits: number, scale: number): number {
  const top = limbs[3] as number
  if (limbs[4] !== 0 || !(Math.abs(top) <= MAX_EXACT_TOP)) return Number.NaN
  const whole = top * LIMB_BASE + (limbs[2] as number)
  // Exact division: the fraction limb ends in LIMB_DIGITS - digits zeros.
  const part = (limbs[1] as number) / (POW10[LIMB_DIGITS - digits] as number)
  if (!(Math.abs(whole) * scale + Math.abs(part) <= Number.MAX_SAFE_INTEGER)) return Number.NaN
  return whole * scale + part
}

const MANTISSA_BITS = 53
const TWO_53 = 1n << 53n

/**
 * numerator / denominator rounded to the nearest double, ties to even: the single rounding
 * of IEEE 754. `denominator` must be positive. Results stay far from the subnormal range here
 * (|sum| ≥ 10^-18 and count < 2^53), where scaling the 53-bit quotient by 2^exponent is exact.
 */
export function roundQuotient(numerator: bigint, denominator: bigint): number {
  if (numerator === 0n) return 0
  const negative = numerator < 0n
  const n = negative ? -numerator : numerator
  // Choose the exponent so that the integer quotient has exactly 53 bits.
  let exponent = bitLength(n) - bitLength(denominator) - MANTISSA_BITS
  let quotient = shiftedQuotient(n, denominator, exponent)
  if (quotient.q >= TWO_53) {
    exponent++
    quotient = shiftedQuotient(n, denominator, exponent)
  }
  let { q } = quotient
  const twice = quotient.r * 2n
  if (twice > quotient.d || (twice === quotient.d && (q & 1n) === 1n)) q++
  const magnitude = Number(q) * 2 ** exponent
  return negative ? -magnitude : magnitude
}

function shiftedQuotient(n: bigint, d: bigint, exponent: number) {
  const num = exponent < 0 ? n << BigInt(-exponent) : n
  const den = exponent > 0 ? d << BigInt(exponent) : d
  const q = num / den
  return { q, r: num - q * den, d: den }
}

function bitLength(value: bigint): number {
  return value.toString(2).length
}
