import { LogarithmicMapping } from '@datadog/sketches-js/dist/ddsketch/mapping/index.js'
import { MAX_ABS_AMOUNT } from '../amount/amount.js'
import { DEFAULT_QUANTILE_ACCURACY } from '../defaults.js'

/** The smallest non-zero magnitude an amount can have: 10^-FRACTION_DIGITS. */
const MIN_ABS_AMOUNT = 1e-18

export const MIN_QUANTILE_ACCURACY = 0.001
export const MAX_QUANTILE_ACCURACY = 0.05

/**
 * Amounts to buckets, such that any amount of a bucket is within the relative accuracy α of the
 * bucket's value: DDSketch's logarithmic mapping (bucket k holds magnitudes in (γ^(k-1), γ^k],
 * γ = (1 + α) / (1 - α), its value 2γ^k / (1 + γ)), taken from Datadog's own library so that the
 * guarantee is theirs, not a copy. One ordered index over every amount the service accepts:
 * negative magnitudes mirrored below `zero`, zero at `zero`, positive ones above it, so that the
 * order of indices is the order of amounts and a quantile is a walk up the indices.
 *
 * The index is computed here, in Node, for both stores: Redis is given indices, never asked to
 * take a logarithm, so both stores put every amount in the same bucket.
 */
export class QuantileMapping {
  readonly accuracy: number
  /** How many indices there are: 0 to size - 1. */
  readonly size: number
  /** The index of zero. */
  readonly zero: number
  readonly #mapping: LogarithmicMapping
  readonly #lowest: number

  constructor(accuracy = DEFAULT_QUANTILE_ACCURACY) {
    if (!(accuracy >= MIN_QUANTILE_ACCURACY && accuracy <= MAX_QUANTILE_ACCURACY)) {
      throw new RangeError(
        `the quantile accuracy must be from ${MIN_QUANTILE_ACCURACY} to ${MAX_QUANTILE_ACCURACY}`,
      )
    }
    this.accuracy = accuracy
    this.#mapping = new LogarithmicMapping(accuracy)
    this.#lowest = this.#mapping.key(MIN_ABS_AMOUNT)
    this.zero = this.#mapping.key(MAX_ABS_AMOUNT) - this.#lowest + 1
    this.size = 2 * this.zero + 1
  }

  /** The index of an amount in the accepted domain (0 or 10^-18 ≤ |amount| ≤ 10^21). */
  index(amount: number): number {
    if (amount === 0) return this.zero
    const offset = this.#offset(amount < 0 ? -amount : amount)
    return amount < 0 ? this.zero - offset : this.zero + offset
  }

  /** The value an index stands for: within the accuracy of every amount it holds. */
  value(index: number): number {
    if (index === this.zero) return 0
    const offset = index > this.zero ? index - this.zero : this.zero - index
    const magnitude = this.#mapping.value(offset - 1 + this.#lowest)
    return index > this.zero ? magnitude : -magnitude
  }

  #offset(magnitude: number): number {
    const key = this.#mapping.key(magnitude) - this.#lowest + 1
    return Math.max(1, Math.min(key, this.zero))
  }
}
