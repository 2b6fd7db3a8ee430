import { addAmount } from '../../core/amount/aggregate.js'
import { LIMB_COUNT, writeLimbs } from '../../core/amount/amount.js'
import { dimensionValueOf, isDimensionValue } from '../../core/dimensions/names.js'
import type { QuantileMapping } from '../../core/quantiles/quantile-mapping.js'
import type { Transaction } from '../store.js'

/**
 * The transactions of one millisecond, folded: what the script adds to that millisecond's blocks
 * in one step instead of one per transaction. All of them get the same outcome, since the script
 * judges a transaction by its timestamp alone (and amounts outside the domain apart: see below).
 */
export interface Delta {
  timestamp: number
  count: number
  /** The exact sum's limbs, carried as the core carries them (exact-sum.ts). */
  limbs: Float64Array
  min: number
  max: number
  /** False for the amounts outside the domain of that millisecond: judged, never stored. */
  valid: boolean
  /** How many of its amounts fall in each quantile index (see QuantileMapping); none when off. */
  indices: Map<number, number>
  /** Per dimension, its transactions by value ('' for those without one); empty when invalid. */
  values: Array<Map<string, ValueGroup>>
}

/** The transactions of a delta with one value of a dimension, folded as the delta is. */
export interface ValueGroup {
  value: string
  /** Where the first of them is in the transactions folded: the scripts track values in that order. */
  first: number
  count: number
  limbs: Float64Array
  min: number
  max: number
}

export interface Folded {
  deltas: Delta[]
  /** For each transaction, in order, the index of its delta. */
  deltaOf: Int32Array
}

const limbs = new Float64Array(LIMB_COUNT)

/**
 * Folds transactions into one delta per millisecond (and per validity of the amount), in the
 * order each millisecond first appears, so the same transactions always fold the same way.
 */
export function fold(
  transactions: readonly Transaction[],
  mapping: QuantileMapping | undefined,
  dimensions: readonly string[] = [],
): Folded {
  const deltas: Delta[] = []
  const deltaOf = new Int32Array(transactions.length)
  const byKey = new Map<number, number>()
  /** Each text met in a dimension's field, checked once: itself, or '' when it is not a value. */
  const checked = new Map<string, string>()
  for (let i = 0; i < transactions.length; i++) {
    const { amount, timestamp } = transactions[i] as Transaction
    const valid = writeLimbs(amount, limbs, 0)
    // Valid and invalid amounts of a millisecond fold apart: a key per (timestamp, validity).
    const key = valid ? timestamp : -timestamp - 1
    let at = byKey.get(key)
    if (at === undefined) {
      at = deltas.length
      byKey.set(key, at)
      deltas.push({
        timestamp,
        count: 0,
        limbs: new Float64Array(LIMB_COUNT),
        min: Number.POSITIVE_INFINITY,
        max: Number.NEGATIVE_INFINITY,
        valid,
        indices: new Map(),
        values: dimensions.map(() => new Map()),
      })
    }
    deltaOf[i] = at
    const delta = deltas[at] as Delta
    if (!valid) {
      delta.count++
    } else {
      const value = amount === 0 ? 0 : amount
      addAmount(delta, limbs, value)
      if (mapping !== undefined) {
        const index = mapping.index(value)
        delta.indices.set(index, (delta.indices.get(index) ?? 0) + 1)
      }
      for (let d = 0; d < dimensions.length; d++) {
        const text = dimensionValueOf(transactions[i] as Transaction, dimensions[d] as string) ?? ''
        let kept = checked.get(text)
        if (kept === undefined) {
          kept = isDimensionValue(text) ? text : ''
          checked.set(text, kept)
        }
        addToGroup(delta.values[d] as Map<string, ValueGroup>, kept, i, value)
      }
    }
  }
  return { deltas, deltaOf }
}

function addToGroup(groups: Map<string, ValueGroup>, value: string, at: number, amount: number) {
  let group = groups.get(value)
  if (group === undefined) {
    group = {
      value,
      first: at,
      count: 0,
      limbs: new Float64Array(LIMB_COUNT),
      min: Number.POSITIVE_INFINITY,
      max: Number.NEGATIVE_INFINITY,
    }
    groups.set(value, group)
  }
  addAmount(group, limbs, amount)
}

/** Each transaction's letter, from the letter of its delta. */
export function unfold(letters: string, { deltaOf }: Folded): string {
  let out = ''
  for (let i = 0; i < deltaOf.length; i++) out += letters[deltaOf[i] as number] ?? ''
  return out
}
