import { type Aggregate, addAmount } from '../amount/aggregate.js'
import { LIMB_COUNT, writeLimbs } from '../amount/amount.js'
import { addLimbs } from '../amount/exact-sum.js'
import { LEVELS } from '../blocks/levels.js'
import { addRow, COUNT, MAX, MIN, ROW_FIELDS, SUM, TAG } from '../blocks/row.js'
import { addFine, addToFine, FINE_BYTES, FINE_ROWS } from './fine-second.js'

const SECOND = LEVELS[LEVELS.length - 1] as number

/**
 * Each (value, second) slot is one row (row.ts) tagged with its second, and after its fields the
 * first and last millisecond it holds.
 */
const FIRST = ROW_FIELDS
const LAST = FIRST + 1
const STRIDE = LAST + 1
/** A value's sum of whole seconds (see #addWhole): a row, then the seconds it is of. */
const WHOLE_LO = ROW_FIELDS
const WHOLE_HI = WHOLE_LO + 1
const WHOLE_STRIDE = WHOLE_HI + 1
const NO_SECOND = -1
/** A slot's list of (timestamp, amount) pairs starts with room for this many, then doubles. */
const FIRST_CAPACITY = 8
/** Bytes a pair of a list is charged: two doubles. */
export const PAIR_BYTES = 16
/**
 * A slot holds at most this many pairs; past them its second is kept as rows per block instead
 * (FINE_ROWS), so that a second cut by an edge is read from at most 27 rows, or from this many
 * pairs, however many transactions it holds.
 */
export const MAX_PAIRS = 32
/**
 * What each value of a dimension holds, by its place (an id): per place a ring of one row per
 * second, and per row what is needed to sum a second cut by an edge of the window exactly over
 * the milliseconds inside it: its (timestamp, amount) pairs while it holds at most MAX_PAIRS,
 * then rows per 100 ms, 10 ms and 1 ms block (a fine second). Reading a cut second thus reads at
 * most MAX_PAIRS pairs or 27 rows, whatever was sent. The seconds wholly inside are read from
 * one running sum per place (see #addWhole).
 *
 * Memory: the rows are allocated once, places × slots × 88 bytes; the lists grow with the
 * transactions, charged PAIR_BYTES a pair of capacity, and a fine second FINE_BYTES, never above
 * budgetBytes (a transaction that would need more is refused: add answers false).
 */
export class ValueRows {
  readonly #slots: number
  readonly #budget: number
  readonly #rows: Float64Array
  readonly #lists: Array<Float64Array | undefined>
  /** Pairs in each slot's list. */
  readonly #lengths: Int32Array
  /** Per slot, its fine second's rows once it has held more than MAX_PAIRS (see #refine). */
  readonly #fine: Array<Float64Array | undefined>
  /** Per place, its sum of whole seconds and their range (see #addWhole); NaN: none. */
  readonly #whole: Float64Array
  #bytes = 0
  readonly #amount = new Float64Array(LIMB_COUNT)

  constructor(places: number, windowMs: number, clockSkewMs: number, budgetBytes: number) {
    this.#budget = budgetBytes
    this.#slots = 2 ** Math.ceil(Math.log2(Math.ceil((windowMs + clockSkewMs) / SECOND) + 2))
    const slots = places * this.#slots
    this.#rows = new Float64Array(slots * STRIDE)
    for (let row = 0; row < this.#rows.length; row += STRIDE) this.#rows[row + TAG] = NO_SECOND
    this.#lists = new Array(slots).fill(undefined)
    this.#lengths = new Int32Array(slots)
    this.#fine = new Array(slots).fill(undefined)
    this.#whole = new Float64Array(places * WHOLE_STRIDE).fill(Number.NaN)
  }

  /** The bytes the lists and fine seconds are charged: within the budget. */
  get bytes(): number {
    return this.#bytes
  }

  /** Empties a place, for the next value to hold it. */
  forget(id: number): void {
    this.#whole[id * WHOLE_STRIDE + WHOLE_LO] = Number.NaN
    for (let slot = id * this.#slots; slot < (id + 1) * this.#slots; slot++) {
      this.#rows[slot * STRIDE + TAG] = NO_SECOND
      this.#bytes -= (this.#lists[slot]?.length ?? 0) * 8
      this.#lists[slot] = undefined
      this.#lengths[slot] = 0
      this.#unrefine(slot)
    }
  }

  /** Adds a transaction to a value's row and list; false, changing nothing, beyond the budget. */
  add(id: number, amount: number, timestamp: number): boolean {
    const second = Math.floor(timestamp / SECOND)
    const slot = id * this.#slots + (second - Math.floor(second / this.#slots) * this.#slots)
    const rows = this.#rows
    const row = slot * STRIDE
    const fresh = rows[row + TAG] !== second
    if (!writeLimbs(amount, this.#amount, 0)) return false
    const value = amount === 0 ? 0 : amount
    // A stale row's pairs are of a second that left the window: its list is reused.
    const length = fresh ? 0 : (this.#lengths[slot] as number)
    if (fresh) this.#unrefine(slot)
    let fine = this.#fine[slot]
    if (fine === undefined && length === MAX_PAIRS) {
      fine = this.#refine(slot, second)
      if (fine === undefined) return false
    }
    if (fine !== undefined) {
      addToFine(fine, timestamp - second * SECOND, value, this.#amount)
    } else {
      let list = this.#lists[slot]
      const capacity = list === undefined ? 0 : list.length / 2
      if (length === capacity) {
        const grown = Math.min(MAX_PAIRS, Math.max(FIRST_CAPACITY, capacity * 2))
        const extra = (grown - capacity) * PAIR_BYTES
        if (this.#bytes + extra > this.#budget) return false
        const larger = new Float64Array(grown * 2)
        if (list !== undefined && length > 0) larger.set(list.subarray(0, length * 2))
        this.#bytes += extra
        list = larger
        this.#lists[slot] = list
      }
      ;(list as Float64Array)[length * 2] = timestamp
      ;(list as Float64Array)[length * 2 + 1] = value
      this.#lengths[slot] = length + 1
    }
    if (fresh) {
      rows.fill(0, row, row + STRIDE)
      rows[row + TAG] = second
      rows[row + MIN] = value
      rows[row + MAX] = value
      rows[row + FIRST] = timestamp
      rows[row + LAST] = timestamp
    } else {
      if (value < (rows[row + MIN] as number)) rows[row + MIN] = value
      if (value > (rows[row + MAX] as number)) rows[row + MAX] = value
      if (timestamp < (rows[row + FIRST] as number)) rows[row + FIRST] = timestamp
      if (timestamp > (rows[row + LAST] as number)) rows[row + LAST] = timestamp
    }
    rows[row + COUNT] = (rows[row + COUNT] as number) + 1
    addLimbs(rows, row + SUM, this.#amount, 0)
    const whole = this.#whole
    const at = id * WHOLE_STRIDE
    if (second >= (whole[at + WHOLE_LO] as number) && second <= (whole[at + WHOLE_HI] as number)) {
      whole[at + COUNT] = (whole[at + COUNT] as number) + 1
      addLimbs(whole, at + SUM, this.#amount, 0)
      if (value < (whole[at + MIN] as number)) whole[at + MIN] = value
      if (value > (whole[at + MAX] as number)) whole[at + MAX] = value
    }
    return true
  }

  /**
   * Turns a slot's MAX_PAIRS pairs into a fine second, its list freed; undefined, changing
   * nothing, when the budget cannot take it. The caller's amount scratch is left as it was.
   */
  #refine(slot: number, second: number): Float64Array | undefined {
    const list = this.#lists[slot] as Float64Array
    const listBytes = list.length * 8
    if (this.#bytes - listBytes + FINE_BYTES > this.#budget) return undefined
    const fine = new Float64Array(FINE_ROWS * ROW_FIELDS)
    const scratch = new Float64Array(LIMB_COUNT)
    const length = this.#lengths[slot] as number
    for (let i = 0; i < length * 2; i += 2) {
      const value = list[i + 1] as number
      writeLimbs(value, scratch, 0)
      addToFine(fine, (list[i] as number) - second * SECOND, value, scratch)
    }
    this.#bytes += FINE_BYTES - listBytes
    this.#lists[slot] = undefined
    this.#fine[slot] = fine
    return fine
  }

  #unrefine(slot: number): void {
    if (this.#fine[slot] === undefined) return
    this.#fine[slot] = undefined
    this.#bytes -= FINE_BYTES
  }

  /**
   * A value's transactions with from <= timestamp <= to, into `into`: the seconds wholly inside
   * from its running sum of them (see #addWhole), the two edge seconds each from its row when all
   * it holds is inside, the window's oldest second from its index (see #edge), any other cut
   * second from its pairs.
   */
  aggregate(id: number, from: number, to: number, into: Aggregate): Aggregate {
    into.count = 0
    into.limbs.fill(0)
    into.min = Number.POSITIVE_INFINITY
    into.max = Number.NEGATIVE_INFINITY
    const first = Math.floor(from / SECOND)
    const last = Math.floor(to / SECOND)
    if (last - first >= 2) this.#addWhole(id, first + 1, last - 1, into)
    this.#addEdge(id, first, from, to, into)
    if (last !== first) this.#addEdge(id, last, from, to, into)
    return into
  }

  /**
   * Adds a value's seconds lo to hi, all inside the window asked. Their sum is kept per value with the
   * range it is of, and kept up by every record into that range, so that it is summed from the
   * rows again only when the range moves: once a second for reads of the window, however many.
   */
  #addWhole(id: number, lo: number, hi: number, into: Aggregate): void {
    const whole = this.#whole
    const at = id * WHOLE_STRIDE
    if (whole[at + WHOLE_LO] !== lo || whole[at + WHOLE_HI] !== hi) {
      const rows = this.#rows
      const slots = this.#slots
      let count = 0
      let min = Number.POSITIVE_INFINITY
      let max = Number.NEGATIVE_INFINITY
      // Raw limb sums of at most a few hundred rows, exact in doubles as in RollingWindow.#walk.
      let l0 = 0
      let l1 = 0
      let l2 = 0
      let l3 = 0
      let l4 = 0
      let index = lo - Math.floor(lo / slots) * slots
      for (let second = lo; second <= hi; second++, index++) {
        if (index === slots) index = 0
        const row = (id * slots + index) * STRIDE
        if (rows[row + TAG] !== second) continue
        count += rows[row + COUNT] as number
        l0 += rows[row + SUM] as number
        l1 += rows[row + SUM + 1] as number
        l2 += rows[row + SUM + 2] as number
        l3 += rows[row + SUM + 3] as number
        l4 += rows[row + SUM + 4] as number
        if ((rows[row + MIN] as number) < min) min = rows[row + MIN] as number
        if ((rows[row + MAX] as number) > max) max = rows[row + MAX] as number
      }
      whole[at + WHOLE_LO] = lo
      whole[at + WHOLE_HI] = hi
      whole[at + COUNT] = count
      whole[at + SUM] = l0
      whole[at + SUM + 1] = l1
      whole[at + SUM + 2] = l2
      whole[at + SUM + 3] = l3
      whole[at + SUM + 4] = l4
      whole[at + MIN] = min
      whole[at + MAX] = max
    }
    addRow(into, whole, at)
  }

  /** Adds what a value's edge second holds in [from, to]. */
  #addEdge(id: number, second: number, from: number, to: number, into: Aggregate): void {
    const slot = id * this.#slots + (second - Math.floor(second / this.#slots) * this.#slots)
    const rows = this.#rows
    const row = slot * STRIDE
    if (rows[row + TAG] !== second) return
    if ((rows[row + FIRST] as number) >= from && (rows[row + LAST] as number) <= to) {
      addRow(into, rows, row)
      return
    }
    const fine = this.#fine[slot]
    const start = second * SECOND
    if (fine !== undefined) {
      addFine(into, fine, Math.max(from, start) - start, Math.min(to, start + SECOND - 1) - start)
    } else {
      this.#scan(slot, from, to, into)
    }
  }

  /** Adds the pairs of a slot with from <= timestamp <= to, one by one: MAX_PAIRS at most. */
  #scan(slot: number, from: number, to: number, into: Aggregate): void {
    const list = this.#lists[slot] as Float64Array
    const length = this.#lengths[slot] as number
    for (let i = 0; i < length * 2; i += 2) {
      const timestamp = list[i] as number
      if (timestamp < from || timestamp > to) continue
      const amount = list[i + 1] as number
      writeLimbs(amount, this.#amount, 0)
      addAmount(into, this.#amount, amount)
    }
  }
}
