import { LIMB_COUNT } from './amount.js'
import { addLimbs } from './exact-sum.js'

/** The raw statistics of a set: count, exact limb sums (not necessarily carried), min and max. */
export interface Aggregate {
  count: number
  limbs: Float64Array
  min: number
  max: number
}

export function emptyAggregate(): Aggregate {
  return {
    count: 0,
    limbs: new Float64Array(LIMB_COUNT),
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
  }
}

/** Adds one amount, whose limbs are `limbs` (see writeLimbs), into `into`, exactly. */
export function addAmount(into: Aggregate, limbs: Float64Array, amount: number): void {
  into.count++
  addLimbs(into.limbs, 0, limbs, 0)
  if (amount < into.min) into.min = amount
  if (amount > into.max) into.max = amount
}

/** Adds `from` into `into`, exactly. */
export function addAggregate(into: Aggregate, from: Aggregate): void {
  into.count += from.count
  addLimbs(into.limbs, 0, from.limbs, 0)
  if (from.min < into.min) into.min = from.min
  if (from.max > into.max) into.max = from.max
}
