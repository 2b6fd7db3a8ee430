import { addAggregate, emptyAggregate } from '../amount/aggregate.js'
import { writeSumAndMean } from '../amount/exact-sum.js'
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
import { IdHeap } from './id-heap.js'
import { isDimensionValue } from './names.js'
import { ValueRows } from './value-rows.js'
import { ValueTable } from './value-table.js'

export { MAX_PAIRS, PAIR_BYTES } from './value-rows.js'

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
 * The window of each value of one dimension, sparse: what each value holds is in its place of a
 * ValueRows (value-rows.ts: a row per second, and what a second cut by an edge needs, read in a
 * bounded number of rows whatever was sent). Two dense windows hold the rest: the overflow
 * (transactions of values beyond the bound or the budget) and the missing (transactions without
 * the field).
 *
 * Places: maxValues + retiredCapacity(maxValues), for the tracked values and the retired ones;
 * the two dense windows are a RollingWindow each.
 *
 * A value is tracked from its first transaction while fewer than maxValues are, may take the
 * place of a lighter one later (admission.ts), and is released when its newest transaction leaves
 * the window: the values are in min-heaps that find the next to leave from their top (IdHeaps, see
 * #order). A record costs O(1), a release O(log maxValues), a try for a place O(maxValues).
 */
export class ValueWindows {
  readonly #windowMs: number
  readonly #skewMs: number
  readonly #maxValues: number
  /** Tracked values' ids; then values that lost their place (see admission.ts), until they leave. */
  readonly #ids = new Map<string, number>()
  readonly #retired = new Map<string, number>()
  readonly #retiredCapacity: number
  /** What each place holds. */
  readonly #rows: ValueRows
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
  /** The newest timestamp ever put in the overflow. */
  #overflowNewest = Number.NEGATIVE_INFINITY
  /** The instant the dense windows are shown (they read it as their clock). */
  #instant = Number.NEGATIVE_INFINITY
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
    this.#rows = new ValueRows(places, options.windowMs, options.clockSkewMs, options.budgetBytes)
    this.#names = new Array(places).fill('')
    this.#newest = new Float64Array(places)
    this.#partialUntil = new Float64Array(places)
    this.#order = new IdHeap(places)
    this.#retiredOrder = new IdHeap(places)
    this.#candidates = new Candidates(this.#maxValues)
    this.#hits = new Float64Array(places)
    this.#hitsGeneration = new Float64Array(places).fill(Number.NEGATIVE_INFINITY)
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
    return this.#rows.bytes
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
      const aggregate = this.#rows.aggregate(id, from, now, this.#scratch)
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
      this.#rows.aggregate(id, from, now, aggregate)
      if (aggregate.count === 0) continue
      table.add(this.#names[id] as string, aggregate, (this.#partialUntil[id] as number) >= from)
    }
    // The rest: the overflow and the retired values.
    const rest = emptyAggregate()
    addAggregate(rest, this.#overflow.aggregate(windowMs))
    for (let i = 0; i < this.#retiredOrder.size; i++) {
      addAggregate(rest, this.#rows.aggregate(this.#retiredOrder.idAt(i), from, now, aggregate))
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
    this.#rows.forget(id)
    this.#free.push(id)
  }

  /** Adds a transaction to a value's place; false, changing nothing, beyond the budget. */
  #add(id: number, amount: number, timestamp: number): boolean {
    if (!this.#rows.add(id, amount, timestamp)) return false
    if (timestamp > (this.#newest[id] as number)) this.#newest[id] = timestamp
    this.#hits[id] = Math.min(this.#hitsOf(id) + 1, MAX_COUNTED)
    this.#hitsGeneration[id] = this.#generation
    return true
  }
}
