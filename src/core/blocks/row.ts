import type { Aggregate } from '../amount/aggregate.js'
import { LIMB_COUNT } from '../amount/amount.js'
import { addLimbs } from '../amount/exact-sum.js'

/**
 * The fields of a row of statistics in a Float64Array, as the window's rings and each value's
 * seconds hold them: what the row holds (its tag: a block, a second), the count, the exact sum's
 * limbs, the min and the max. A row whose tag is not the one asked about is empty, so stale rows
 * are never read and never need sweeping. Holders may add fields after ROW_FIELDS.
 */
export const TAG = 0
export const COUNT = 1
export const SUM = 2
export const MIN = SUM + LIMB_COUNT
export const MAX = MIN + 1
export const ROW_FIELDS = MAX + 1

/** Adds a row (row.ts) of `rows` at `row` into an aggregate. */
export function addRow(into: Aggregate, rows: Float64Array, row: number): void {
  into.count += rows[row + COUNT] as number
  addLimbs(into.limbs, 0, rows, row + SUM)
  if ((rows[row + MIN] as number) < into.min) into.min = rows[row + MIN] as number
  if ((rows[row + MAX] as number) > into.max) into.max = rows[row + MAX] as number
}
