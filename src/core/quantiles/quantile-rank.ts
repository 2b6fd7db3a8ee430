/**
 * The rank ⌊q × (n − 1)⌋ of the quantile q among n sorted amounts, exactly: q is taken as the
 * decimal String(q) writes (the key an answer names it by), and the product is formed in
 * integers. In doubles, 0.29 × 100 is 28.999…: the rank would be one too low wherever q × (n − 1)
 * lands on an integer that q's double falls just short of.
 */
export function quantileRank(q: number, n: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError('a quantile is a number from 0 to 1')
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('n must be a positive integer')
  const { digits, scale } = decimalOf(q)
  const product = digits * BigInt(n - 1)
  return Number(scale >= 0 ? product / 10n ** BigInt(scale) : product * 10n ** BigInt(-scale))
}

/** q = digits × 10^-scale, from the shortest decimal that reads back as q (e.g. 1e-7). */
function decimalOf(q: number): { digits: bigint; scale: number } {
  const [mantissa = '0', exponent = '0'] = String(q).split('e')
  const [whole = '0', fraction = ''] = mantissa.split('.')
  return { digits: BigInt(whole + fraction), scale: fraction.length - Number(exponent) }
}
