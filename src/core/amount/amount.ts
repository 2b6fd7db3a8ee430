/**
 * Amounts are exact decimals: the number that `String(amount)` denotes, scaled by
 * 10^FRACTION_DIGITS into an integer held as LIMB_COUNT base-10^9 limbs (least significant
 * first). Each limb is an integer below 10^9 in magnitude, so it is exact in a double, and
 * limbs can be accumulated in Float64Arrays without allocating (see exact-sum.ts).
 */

/** Amounts are exact to 18 decimal places; finer amounts are refused, never rounded. */
export const FRACTION_DIGITS = 18
/** Largest accepted magnitude. It keeps every sum far inside a double's range (see design.md). */
export const MAX_ABS_AMOUNT = 1e21
export const LIMB_BASE = 1e9
const LIMB_DIGITS = 9
export const LIMB_COUNT = 5

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8]
const CHAR_0 = 48
const CHAR_E = 101
const CHAR_MINUS = 45

const CENTS_FAST_PATH_LIMIT = 1e12
/** A cent is 10^16 in the scaled integer: 10^7 in the second limb. */
const CENT_IN_LIMB = 1e7

const scratch = new Float64Array(LIMB_COUNT)

/** Why an amount is outside the exact domain, for the 422 message; undefined when it is inside. */
export function amountProblem(amount: number): string | undefined {
  if (!Number.isFinite(amount)) return 'must be a finite number'
  if (Math.abs(amount) > MAX_ABS_AMOUNT)
    return `must be between -${MAX_ABS_AMOUNT} and ${MAX_ABS_AMOUNT}`
  if (!writeLimbs(amount, scratch, 0)) {
    return `must have at most ${FRACTION_DIGITS} digits after the decimal point`
  }
  return undefined
}

/**
 * Writes the scaled limbs of `amount` into `out[offset..offset+LIMB_COUNT)`.
 * Returns false, leaving `out` in an unspecified state, when the amount is outside the domain.
 * Allocation-free apart from `String(amount)`.
 */
export function writeLimbs(amount: number, out: Float64Array, offset: number): boolean {
  if (!(Math.abs(amount) <= MAX_ABS_AMOUNT)) return false // also refuses NaN
  if (writeWholeCents(amount, out, offset)) return true
  const negative = amount < 0
  const text = String(negative ? -amount : amount)
  const mantissaEnd = exponentIndex(text)
  const exponent = mantissaEnd < text.length ? parseExponent(text, mantissaEnd + 1) : 0
  let dot = text.indexOf('.')
  if (dot < 0 || dot > mantissaEnd) dot = mantissaEnd
  for (let i = 0; i < LIMB_COUNT; i++) out[offset + i] = 0
  for (let i = 0; i < mantissaEnd; i++) {
    if (i === dot) continue
    const digit = text.charCodeAt(i) - CHAR_0
    if (digit === 0) continue
    // The digit's power of ten in the scaled integer.
    const power = (i < dot ? dot - 1 - i : dot - i) + exponent + FRACTION_DIGITS
    if (power < 0) return false
    const limb = (power / LIMB_DIGITS) | 0
    const value = digit * (POW10[power - limb * LIMB_DIGITS] as number)
    out[offset + limb] = (out[offset + limb] as number) + (negative ? -value : value)
  }
  return true
}

/**
 * Fast path for the common case, an amount in whole cents: `String(amount)` costs more than all
 * the rest of a record. Below 10^12 a double's spacing is under 0.0002, so when the nearest double
 * to cents / 100 is `amount`, no shorter decimal rounds to it and cents / 100 is exactly the
 * decimal `String(amount)` would give.
 */
function writeWholeCents(amount: number, out: Float64Array, offset: number): boolean {
  const magnitude = Math.abs(amount)
  if (!(magnitude < CENTS_FAST_PATH_LIMIT)) return false
  const cents = Math.round(magnitude * 100)
  if (cents / 100 !== magnitude) return false
  const whole = Math.floor(cents / 100)
  const high = Math.floor(whole / LIMB_BASE)
  const sign = amount < 0 ? -1 : 1
  out[offset] = 0
  out[offset + 1] = sign * (cents - whole * 100) * CENT_IN_LIMB
  out[offset + 2] = sign * (whole - high * LIMB_BASE)
  out[offset + 3] = sign * high
  out[offset + 4] = 0
  return true
}

function exponentIndex(text: string): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === CHAR_E) return i
  return text.length
}

function parseExponent(text: string, start: number): number {
  let i = start
  const negative = text.charCodeAt(i) === CHAR_MINUS
  if (negative || text.charCodeAt(i) === 43 /* + */) i++
  let value = 0
  for (; i < text.length; i++) value = value * 10 + (text.charCodeAt(i) - CHAR_0)
  return negative ? -value : value
}

/**
 * Whether `value`, a number parsed from the text `written` (a JSON number literal), is the very
 * decimal written: what a client wrote with more significant digits than a double carries, or
 * too small or too large for one, is not. Both are compared as normalised decimals.
 */
export function isWrittenExactly(written: string, value: number): boolean {
  return normaliseDecimal(written) === normaliseDecimal(String(value))
}

/** "-0012.3400e1" → "-1234e-1": sign, significant digits, power of ten; every zero is "0". */
function normaliseDecimal(text: string): string {
  const negative = text.charCodeAt(0) === CHAR_MINUS
  const e = text.search(/[eE]/)
  const mantissa = text.slice(negative ? 1 : 0, e < 0 ? text.length : e)
  const dot = mantissa.indexOf('.')
  let digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1)
  let exponent = (e < 0 ? 0 : Number(text.slice(e + 1))) - (dot < 0 ? 0 : mantissa.length - dot - 1)
  const start = digits.search(/[1-9]/)
  if (start < 0) return '0'
  const significant = digits.slice(start).replace(/0+$/, '')
  exponent += digits.length - start - significant.length
  digits = significant
  return `${negative ? '-' : ''}${digits}e${exponent}`
}
