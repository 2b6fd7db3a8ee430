import { DEFAULT_QUANTILE_BUDGET_BYTES } from '../defaults.js'
import { SKETCH_BYTES, SKETCH_ENTRY_BYTES } from './block-sketches.js'
import { QuantileMapping } from './quantile-mapping.js'

/** How quantile sketches are kept, by the window and by the Redis store alike. */
export interface QuantileOptions {
  /**
   * The relative accuracy α of every quantile (see QuantileMapping).
   * @default DEFAULT_QUANTILE_ACCURACY (0.01)
   */
  accuracy?: number
  /**
   * The most the sketches may be charged, in bytes (see BlockSketches): the floor or more.
   * @default DEFAULT_QUANTILE_BUDGET_BYTES (384 MiB)
   */
  budgetBytes?: number
}

/**
 * The mapping and budget quantile options name, for a window of windowMs and skewMs: defaults
 * filled in, and a budget below the floor refused. Both stores keep their sketches by these.
 * @throws RangeError when the budget is below quantileFloorBytes, or the accuracy out of range
 */
export function quantileSettings(options: QuantileOptions, windowMs: number, skewMs: number) {
  const mapping = new QuantileMapping(options.accuracy)
  const budget = options.budgetBytes ?? DEFAULT_QUANTILE_BUDGET_BYTES
  const floor = quantileFloorBytes(mapping, windowMs, skewMs)
  if (budget < floor) {
    throw new RangeError(
      `the quantile budget must be at least ${Math.ceil(floor / 2 ** 20)} MiB for this window and accuracy`,
    )
  }
  return { mapping, budget }
}

/**
 * The least budget the sketches need: every whole second a window of windowMs (plus the skew)
 * can hold, each with every index the mapping has. The finer levels live above it.
 */
export function quantileFloorBytes(mapping: QuantileMapping, windowMs: number, skewMs: number) {
  const seconds = Math.ceil((windowMs + skewMs) / 1000) + 2
  return seconds * (SKETCH_BYTES + mapping.size * SKETCH_ENTRY_BYTES)
}
