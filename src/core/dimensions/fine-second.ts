import type { Aggregate } from '../amount/aggregate.js'
import { addLimbs } from '../amount/exact-sum.js'
import { addRow, COUNT, MAX, MIN, ROW_FIELDS, SUM } from '../blocks/row.js'

/**
 * A fine second: one second of one value kept as rows (row.ts) for its ten 100 ms blocks, its
 * hundred 10 ms blocks and its thousand milliseconds, so that any cut of it is read from at most
 * 27 rows, as the window decomposes an interval (see ValueWindows).
 */
export const FINE_ROWS = 10 + 100 + 1_000
const TENS = 10
const ONES = 110
/** Bytes a fine second is charged: its rows. */
export const FINE_BYTES = FINE_ROWS * ROW_FIELDS * 8

/** The fine rows of an offset (ms within the second): its 100 ms, 10 ms and 1 ms blocks. */
export function addToFine(
  fine: Float64Array,
  offset: number,
  value: number,
  limbs: Float64Array,
): void {
  addToRow(fine, Math.floor(offset / 100) * ROW_FIELDS, value, limbs)
  addToRow(fine, (TENS + Math.floor(offset / 10)) * ROW_FIELDS, value, limbs)
  addToRow(fine, (ONES + offset) * ROW_FIELDS, value, limbs)
}

function addToRow(rows: Float64Array, row: number, value: number, limbs: Float64Array): void {
  const count = rows[row + COUNT] as number
  if (count === 0 || value < (rows[row + MIN] as number)) rows[row + MIN] = value
  if (count === 0 || value > (rows[row + MAX] as number)) rows[row + MAX] = value
  rows[row + COUNT] = count + 1
  addLimbs(rows, row + SUM, limbs, 0)
}

/**
 * Adds a fine second's offsets lo to hi: the fewest whole blocks, at most 9 of each size, as the
 * window decomposes an interval.
 */
export function addFine(into: Aggregate, fine: Float64Array, lo: number, hi: number): void {
  for (let offset = lo; offset <= hi; ) {
    let row: number
    let size: number
    if (offset % 100 === 0 && offset + 99 <= hi) {
      row = offset / 100
      size = 100
    } else if (offset % 10 === 0 && offset + 9 <= hi) {
      row = TENS + offset / 10
      size = 10
    } else {
      row = ONES + offset
      size = 1
    }
    if ((fine[row * ROW_FIELDS + COUNT] as number) > 0) addRow(into, fine, row * ROW_FIELDS)
    offset += size
  }
}
