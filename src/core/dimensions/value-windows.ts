import { type Aggregate, addAggregate, addAmount, emptyAggregate } from '../amount/aggregate.js'
import { LIMB_COUNT, writeLimbs } from '../amount/amount.js'
import { addLimbs, writeSumAndMean } from '../amount/exact-sum.js'
import { LEVELS } from '../blocks/levels.js'
import { addRow, COUNT, MAX, MIN, ROW_FIELDS, SUM, TAG } from '../blocks/row.js'
import { RollingWindow } from '../window/window.js'
import {
  Candidates,
  generationOf,
  isAdmissionTry,
  isLighter,
  MAX_COUNTED,
  retiredCapacity,
} from './admission.js'
import {
  type Breakdown,
  type BreakdownQuery,
  rankBreakdown,
  type ValueStatistics,
} from './breakdown.js'
import { addFine, addToFine, FINE_BYTES, FINE_ROWS } from './fine-second.js'
import { IdHeap } from './id-heap.js'
import { isDimensionValue } from './names.js'
import { ValueTable } from './value-table.js'

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
/** How one dimension's values are kept; the memory store fills each from its own options. */
export interface ValueWindowsOptions {
  /** The window's length, as the store's window. */
  windowMs: number
  /** The clock-skew allowance, as the store's window. */
  clockSkewMs: number
  /** Values tracked at once (DIMENSION_MAX_VALUES; its default DEFAULT_MAX_VALUES). */
  maxValues: number
  /**
   * The most the values' lists may be charged, in bytes (see PAIR_BYTES; its default
   * DEFAULT_DIMENSION_BUDGET_BYTES).
   */
  budgetBytes: number
}

/**
 * The window of each value of one dimension, sparse: per tracked value a ring of one row per
 * second, and per row what is needed to sum a second cut by an edge of the window exactly over
 * the milliseconds inside it: its (timestamp, amount) pairs while it holds at most MAX_PAIRS,
 * then rows per 100 ms, 10 ms and 1 ms block (a fine second). Reading a cut second thus reads at
 * most MAX_PAIRS pairs or 27 rows, whatever was sent. The seconds wholly inside are read from
 * one running sum per value (see #addWhole). Two dense windows hold the rest: the overflow
 * (transactions of values beyond the bound or the budget) and the missing (transactions without
 * the field).
 *
 * Memory: the rows are allocated once, (maxValues + retiredCapacity(maxValues)) × slots × 88
 * bytes, places for the tracked values and the retired ones; the lists grow with the
 * transactions, charged PAIR_BYTES a pair of capacity, and a fine second FINE_BYTES, never above
 * budgetBytes (a transaction that would need more goes to the overflow); the two dense windows
 * are a RollingWindow each.
 *
 * A value is tracked from its first transaction while fewer than maxValues are, may take the
 * place of a lighter one later (admission.ts), and is released when its newest transaction leaves
 * the window: the values are in min-heaps that find the next to leave from their top (IdHeaps, see
 * #order). A record costs O(1), a release O(log maxValues), a try for a place O(maxValues).
 */
export class ValueWindows {
  readonly #windowMs: number
  readonly #skewMs: number
  readonly #slots: number
  readonly #maxValues: number
  readonly #budget: number
  readonly #rows: Float64Array
  readonly #lists: Array<Float64Array | undefined>
  /** Pairs in each slot's list. */
  readonly #lengths: Int32Array
  /** Tracked values' ids; then values that lost their place (see admission.ts), until they leave. */
  readonly #ids = new Map<string, number>()
  readonly #retired = new Map<string, number>()
  readonly #retiredCapacity: number
  readonly #names: string[]
  /** Per value: the newest timestamp it holds; the newest it may hold in the overflow. */
  readonly #newest: Float64Array
  readonly #partialUntil: Float64Array
  readonly #free: number[] = []
  /**
   * Tracked values by a newest timestamp each held when it was last put in order: never above its
   * newest now, so the value whose transactions leave first is found from the top, and a record
   * need not reorder them.
   */
  readonly #order: IdHeap
  /** Retired values, in the same order. */
  readonly #retiredOrder: IdHeap
  /** Values not tracked, counted while they overflow (see admission.ts). */
  readonly #candidates: Candidates
  /** Per value, its transactions this generation, and the generation they are of. */
  readonly #hits: Float64Array
  readonly #hitsGeneration: Float64Array
  #generation = Number.NEGATIVE_INFINITY
  #overflow: RollingWindow
  #missing: RollingWindow
  /** Per slot, its fine second's rows once it has held more than MAX_PAIRS (see #refine). */
  readonly #fine: Array<Float64Array | undefined>
  /** Per value, its sum of whole seconds and their range (see #addWhole); NaN: none. */
  readonly #whole: Float64Array
  /** The newest timestamp ever put in the overflow. */
  #overflowNewest = Number.NEGATIVE_INFINITY
  /** The instant the dense windows are shown (they read it as their clock). */
  #instant = Number.NEGATIVE_INFINITY
  #bytes = 0
  readonly #amount = new Float64Array(LIMB_COUNT)
  readonly #scratch = emptyAggregate()
  /** The values' aggregates of a breakdown, reused from one to the next. */
  readonly #table: ValueTable
  /**
   * The last answer of each kind, what it asked and when: an answer depends only on the instant
   * and on what was recorded, so readers asking the same within a millisecond share one (as the
   * window's snapshot is shared). `record` and `clear` drop them.
   */
  #lastValue: { key: string; at: number; answer: Readonly<ValueStatistics> } | undefined
  #lastBreakdown: { key: string; at: number; answer: Readonly<Breakdown> } | undefined

  constructor(options: ValueWindowsOptions) {
    this.#windowMs = options.windowMs
    this.#skewMs = options.clockSkewMs
    this.#maxValues = options.maxValues
    this.#retiredCapacity = retiredCapacity(options.maxValues)
    // Places for the tracked values and for the retired ones.
    const places = this.#maxValues + this.#retiredCapacity
    this.#budget = options.budgetBytes
    this.#slots =
      2 ** Math.ceil(Math.log2(Math.ceil((options.windowMs + options.clockSkewMs) / SECOND) + 2))
    const slots = places * this.#slots
    this.#rows = new Float64Array(slots * STRIDE)
    for (let row = 0; row < this.#rows.length; row += STRIDE) this.#rows[row + TAG] = NO_SECOND
    this.#lists = new Array(slots).fill(undefined)
    this.#lengths = new Int32Array(slots)
    this.#names = new Array(places).fill('')
    this.#newest = new Float64Array(places)
    this.#partialUntil = new Float64Array(places)
    this.#order = new IdHeap(places)
    this.#retiredOrder = new IdHeap(places)
    this.#candidates = new Candidates(this.#maxValues)
    this.#hits = new Float64Array(places)
    this.#hitsGeneration = new Float64Array(places).fill(Number.NEGATIVE_INFINITY)
    this.#fine = new Array(slots).fill(undefined)
    this.#whole = new Float64Array(places * WHOLE_STRIDE).fill(Number.NaN)
    for (let id = places - 1; id >= 0; id--) this.#free.push(id)
    this.#overflow = this.#dense()
    this.#missing = this.#dense()
    this.#table = new ValueTable(this.#maxValues)
  }

  /** A dense window on the instants these are shown (see advance). */
  #dense(): RollingWindow {
    return new RollingWindow({
      windowMs: this.#windowMs,
      clockSkewMs: this.#skewMs,
      clock: () => this.#instant,
    })
  }

  /** The bytes the lists are charged: within the budget. */
  get bytes(): number {
    return this.#bytes
  }

  /** How many values are tracked now. */
  get tracked(): number {
    return this.#ids.size
  }

  /**
   * Moves to the window's instant `now` (RollingWindow.now(): it never steps back, except when the
   * window starts afresh, and then these are cleared first): releases the values whose
   * transactions have all left.
   */
  advance(now: number): void {
    this.#instant = now
    const generation = generationOf(now, this.#windowMs)
    if (generation !== this.#generation) {
      this.#generation = generation
      this.#candidates.clear()
    }
    const oldest = now - this.#windowMs
    for (const order of [this.#order, this.#retiredOrder]) {
      while (order.topKey() <= oldest) {
        const id = order.idAt(0)
        const newest = this.#newest[id] as number
        if (newest <= oldest) this.#release(id)
        else order.setTopKey(newest)
      }
    }
  }

  /**
   * Adds a transaction the window stored at instant `now`, with its value of this dimension
   * (undefined: it has none). The amount is one the window took, so inside the exact domain.
   */
  record(value: string | undefined, amount: number, timestamp: number, now: number): void {
    this.advance(now)
    this.#lastValue = undefined
    this.#lastBreakdown = undefined
    let id = value === undefined ? undefined : this.#ids.get(value)
    if (id === undefined) {
      // Not tracked: first checked (a value that is not one counts as none), then tracked if it can be.
      if (!isDimensionValue(value)) {
        this.#missing.record(amount, timestamp)
        return
      }
      id = this.#track(value) ?? this.#admit(value)
    }
    if (id !== undefined && this.#add(id, amount, timestamp)) return
    this.#overflow.record(amount, timestamp)
    if (timestamp > this.#overflowNewest) this.#overflowNewest = timestamp
    if (id !== undefined && timestamp > (this.#partialUntil[id] as number)) {
      this.#partialUntil[id] = timestamp
    }
  }

  /** A value's statistics over [now - windowMs + 1, now]; zeros for a value not tracked. */
  statistics(value: string, windowMs: number, now: number): Readonly<ValueStatistics> {
    this.advance(now)
    const key = `${windowMs}:${value}`
    const last = this.#lastValue
    if (last !== undefined && last.at === now && last.key === key) return last.answer
    const from = now - windowMs + 1
    const tracked = this.#ids.get(value)
    const id = tracked ?? this.#retired.get(value)
    const answer: ValueStatistics = { sum: 0, avg: 0, max: 0, min: 0, count: 0, incomplete: false }
    if (id === undefined) {
      answer.incomplete = this.#overflowNewest >= from
    } else {
      const aggregate = this.#aggregate(id, from, now, this.#scratch)
      // A retired value's later transactions are in the overflow.
      const partialUntil = this.#partialUntil[id] as number
      answer.incomplete =
        partialUntil >= from || (tracked === undefined && this.#overflowNewest >= from)
      if (aggregate.count > 0) {
        answer.count = aggregate.count
        answer.max = aggregate.max
        answer.min = aggregate.min
        writeSumAndMean(aggregate.limbs, aggregate.count, answer)
      }
    }
    this.#lastValue = { key, at: now, answer }
    return answer
  }

  /** The top values over [now - windowMs + 1, now], with the rest and the missing (see rankBreakdown). */
  breakdown(query: BreakdownQuery, windowMs: number, now: number): Readonly<Breakdown> {
    this.advance(now)
    const key = `${windowMs}:${query.order}:${query.limit}`
    const last = this.#lastBreakdown
    if (last !== undefined && last.at === now && last.key === key) return last.answer
    const answer = this.#breakdown(query, windowMs, now)
    this.#lastBreakdown = { key, at: now, answer }
    return answer
  }

  #breakdown(query: BreakdownQuery, windowMs: number, now: number): Breakdown {
    const from = now - windowMs + 1
    const table = this.#table
    table.clear()
    const aggregate = this.#scratch
    for (let i = 0; i < this.#order.size; i++) {
      const id = this.#order.idAt(i)
      this.#aggregate(id, from, now, aggregate)
      if (aggregate.count === 0) continue
      table.add(this.#names[id] as string, aggregate, (this.#partialUntil[id] as number) >= from)
    }
    // The rest: the overflow and the retired values.
    const rest = emptyAggregate()
    addAggregate(rest, this.#overflow.aggregate(windowMs))
    for (let i = 0; i < this.#retiredOrder.size; i++) {
      addAggregate(rest, this.#aggregate(this.#retiredOrder.idAt(i), from, now, aggregate))
    }
    return rankBreakdown(query, table, rest, this.#missing.aggregate(windowMs))
  }

  /**
   * Forgets every value and transaction, and the instants shown: for when the window starts
   * afresh. O(memory).
   */
  clear(): void {
    this.#lastValue = undefined
    this.#lastBreakdown = undefined
    while (this.#order.size > 0) this.#release(this.#order.idAt(0))
    while (this.#retiredOrder.size > 0) this.#release(this.#retiredOrder.idAt(0))
    this.#candidates.clear()
    this.#overflow = this.#dense()
    this.#missing = this.#dense()
    this.#overflowNewest = Number.NEGATIVE_INFINITY
    this.#instant = Number.NEGATIVE_INFINITY
  }

  /**
   * Tracks a value when fewer than maxValues are (a retired one in its old place); undefined when
   * the bound is reached.
   */
  #track(value: string): number | undefined {
    if (this.#ids.size >= this.#maxValues) return undefined
    const retired = this.#retired.get(value)
    if (retired !== undefined) {
      this.#retired.delete(value)
      this.#retiredOrder.remove(retired)
      this.#ids.set(value, retired)
      this.#order.push(retired, this.#newest[retired] as number)
      this.#hits[retired] = 0
      this.#hitsGeneration[retired] = this.#generation
      if (this.#overflowNewest > (this.#partialUntil[retired] as number)) {
        this.#partialUntil[retired] = this.#overflowNewest
      }
      this.#candidates.delete(value)
      return retired
    }
    const id = this.#free.pop() as number
    this.#candidates.delete(value)
    this.#hits[id] = 0
    this.#hitsGeneration[id] = this.#generation
    this.#ids.set(value, id)
    this.#names[id] = value
    this.#newest[id] = Number.NEGATIVE_INFINITY
    // Transactions of this value may be in the overflow from before: until they have left, its
    // answers say they may be incomplete.
    this.#partialUntil[id] = this.#overflowNewest
    this.#whole[id * WHOLE_STRIDE + WHOLE_LO] = Number.NaN
    this.#order.push(id, Number.NEGATIVE_INFINITY)
    return id
  }

  /**
   * Counts a transaction of a value the bound keeps out; when its count reaches a try (see
   * isAdmissionTry), tracks it in place of the lightest tracked value (isLighter) if that one sent
   * fewer this generation (see admission.ts); else undefined: the transaction goes to the overflow.
   * O(maxValues) on a try, which comes at most log2 times per value and generation.
   */
  #admit(value: string): number | undefined {
    const count = this.#candidates.add(value, 1)
    if (!isAdmissionTry(count - 1, count)) return undefined
    if (this.#retired.size >= this.#retiredCapacity && !this.#retired.has(value)) return undefined
    const order = this.#order
    let victim = -1
    for (let i = 0; i < order.size; i++) {
      const id = order.idAt(i)
      const lighter =
        victim < 0 ||
        isLighter(
          this.#hitsGeneration[id] as number,
          this.#hits[id] as number,
          this.#names[id] as string,
          this.#hitsGeneration[victim] as number,
          this.#hits[victim] as number,
          this.#names[victim] as string,
        )
      if (lighter) victim = id
    }
    if (victim < 0 || this.#hitsOf(victim) >= count) return undefined
    if (victim < 0) return undefined
    const name = this.#names[victim] as string
    order.remove(victim)
    this.#ids.delete(name)
    this.#retired.set(name, victim)
    this.#retiredOrder.push(victim, this.#newest[victim] as number)
    return this.#track(value)
  }

  /** A value's transactions this generation. */
  #hitsOf(id: number): number {
    return this.#hitsGeneration[id] === this.#generation ? (this.#hits[id] as number) : 0
  }

  #release(id: number): void {
    const name = this.#names[id] as string
    if (this.#ids.get(name) === id) {
      this.#order.remove(id)
      this.#ids.delete(name)
    } else {
      this.#retiredOrder.remove(id)
      this.#retired.delete(name)
    }
    this.#whole[id * WHOLE_STRIDE + WHOLE_LO] = Number.NaN
    for (let slot = id * this.#slots; slot < (id + 1) * this.#slots; slot++) {
      this.#rows[slot * STRIDE + TAG] = NO_SECOND
      this.#bytes -= (this.#lists[slot]?.length ?? 0) * 8
      this.#lists[slot] = undefined
      this.#lengths[slot] = 0
      this.#unrefine(slot)
    }
    this.#free.push(id)
  }

  /** Adds a transaction to a value's row and list; false, changing nothing, beyond the budget. */
  #add(id: number, amount: number, timestamp: number): boolean {
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
    if (timestamp > (this.#newest[id] as number)) this.#newest[id] = timestamp
    this.#hits[id] = Math.min(this.#hitsOf(id) + 1, MAX_COUNTED)
    this.#hitsGeneration[id] = this.#generation
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
  #aggregate(id: number, from: number, to: number, into: Aggregate): Aggregate {
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
