import type { Statistics } from '../window/statistics.js'
import type { QuantileKeeper, WindowShape } from '../window/window.js'
import { BlockSketches } from './block-sketches.js'
import { QuantileCounts } from './quantile-counts.js'
import { type QuantileOptions, quantileSettings } from './settings.js'

/**
 * What a RollingWindow is given to keep quantiles (its `quantiles` option): a sketch per block of
 * its levels under a budget, the counts that answer them.
 * @throws RangeError (when the window is built) for options quantileSettings refuses
 */
export function keepQuantiles(
  options: QuantileOptions = {},
): (shape: WindowShape) => QuantileKeeper {
  return (shape) => new WindowQuantiles(options, shape)
}

/**
 * The quantile sketches of one window. They are kept up only here, by the two paths that touch
 * them (a record, and a read that asks quantiles): each first forgets the blocks that left.
 */
class WindowQuantiles implements QuantileKeeper {
  readonly #sketches: BlockSketches
  readonly #counts: QuantileCounts
  readonly #windowMs: number
  readonly #skewMs: number

  constructor(options: QuantileOptions, { windowMs, clockSkewMs, sizes }: WindowShape) {
    const { mapping, budget } = quantileSettings(options, windowMs, clockSkewMs)
    this.#sketches = new BlockSketches(mapping, [...sizes], budget)
    this.#counts = new QuantileCounts(mapping)
    this.#windowMs = windowMs
    this.#skewMs = clockSkewMs
  }

  record(timestampMs: number, amount: number, now: number): void {
    const sketches = this.#sketches
    sketches.forgetBefore(now - this.#windowMs + 1)
    sketches.record(timestampMs, sketches.mapping.index(amount), now + this.#skewMs)
  }

  answer(
    quantiles: readonly number[],
    now: number,
    windowMs: number,
    whole: Readonly<Statistics>,
    extremes: (from: number, to: number) => Readonly<Statistics>,
  ) {
    const sketches = this.#sketches
    const counts = this.#counts
    sketches.forgetBefore(now - this.#windowMs + 1)
    const merged = sketches.merge(now - windowMs + 1, now, counts, now + this.#skewMs)
    const { min, max } = merged.edgeMs === 1 ? whole : extremes(merged.from, merged.to)
    return { quantiles: counts.answer(quantiles, min, max, merged.base), edgeMs: merged.edgeMs }
  }

  bytes(now: number): number {
    this.#sketches.forgetBefore(now - this.#windowMs + 1)
    return this.#sketches.bytes
  }

  clear(from: number): void {
    this.#sketches.clear(from)
  }
}
