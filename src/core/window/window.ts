import { type Aggregate, emptyAggregate } from '../amount/aggregate.js'
import { LIMB_COUNT, writeLimbs } from '../amount/amount.js'
import { addLimbs, writeSumAndMean } from '../amount/exact-sum.js'
import { coarsestLevel, LEVELS, ringSlots } from '../blocks/levels.js'
import { COUNT, MAX, MIN, ROW_FIELDS, SUM, TAG } from '../blocks/row.js'
import { DEFAULT_CLOCK_SKEW_MS, DEFAULT_WINDOW_MS } from '../defaults.js'
import { type Clock, systemClock } from './clock.js'
import {
  EMPTY_STATISTICS,
  queryKey,
  type Series,
  type SeriesPoint,
  type Statistics,
  type StatisticsQuery,
} from './statistics.js'

/** What `record` did with a transaction. */
export type RecordOutcome =
  | 'stored'
  | 'tooOld'
  | 'tooFarInFuture'
  | 'invalidAmount'
  | 'invalidTimestamp'

/** How a RollingWindow is built; every option has a default (core/defaults.ts). */
export interface WindowOptions {
  /**
   * The window's length W, in ms: it covers `now − W < timestamp ≤ now`.
   * @default DEFAULT_WINDOW_MS (60 000)
   */
  windowMs?: number
  /**
   * How far in the future a timestamp may lie and be stored, in ms.
   * @default DEFAULT_CLOCK_SKEW_MS (2 000)
   */
  clockSkewMs?: number
  /**
   * Where the window reads the time: tests pass a FakeClock's.
   * @default systemClock (Date.now)
   */
  clock?: Clock
  /**
   * What keeps sketches of the amounts, so that queries can ask quantiles: keepQuantiles(options)
   * of quantiles/window-quantiles.ts. The window knows only this interface.
   * @default false
   */
  quantiles?: ((shape: WindowShape) => QuantileKeeper) | false
}

/** What a quantile keeper is built for: the window's length, skew and slots per level. */
export interface WindowShape {
  windowMs: number
  clockSkewMs: number
  /** Slots per level, as the window's rings have them. */
  sizes: readonly number[]
}

/**
 * Keeps quantile sketches beside the window's blocks: told of every amount stored, asked by the
 * queries that want quantiles. Nothing of it runs on a read that asks none.
 */
export interface QuantileKeeper {
  /** An amount the window stored at timestampMs, at its instant `now`. */
  record(timestampMs: number, amount: number, now: number): void
  /**
   * The quantiles of the last windowMs ms at `now`, clamped to the exact min and max of the set
   * the sketches were read over: `whole`'s when that is the whole set, else extremes(from, to);
   * edgeMs says how the set was cut (1: exactly).
   */
  answer(
    quantiles: readonly number[],
    now: number,
    windowMs: number,
    whole: Readonly<Statistics>,
    extremes: (from: number, to: number) => Readonly<Statistics>,
  ): { quantiles: Record<string, number>; edgeMs: number }
  /** The bytes its sketches are charged at `now`. */
  bytes(now: number): number
  /** Forgets every block from `from` on: the window starts afresh. */
  clear(from: number): void
}

const COARSEST = LEVELS[LEVELS.length - 1] as number

/**
 * Each slot is one 72-byte row (row.ts), tagged with the index of the block it holds: stale rows
 * are never read and never need sweeping, whatever the idle gap or however many times the ring
 * wrapped.
 */
const STRIDE = ROW_FIELDS
const NO_BLOCK = -1

/**
 * A rolling window of transaction statistics over (now - windowMs, now], exact to the millisecond.
 *
 * `now` is the clock's reading, held monotonic: when the clock steps back by less than the
 * window, the window waits at the latest instant it has shown, so nothing that already left it
 * comes back and nothing is counted twice. A step back of a whole window or more would refuse
 * every fresh transaction as too old until the clock caught up, so the window starts afresh.
 *
 * record: one slot write per level. snapshot: at most 54 + ⌈windowMs / 1000⌉ slot reads (114 for
 * the default window, 354 for the largest configurable one, 300 s).
 * Memory: fixed at construction, 72 bytes a slot, about (windowMs + clockSkewMs) × 1.111 slots,
 * each level rounded up to a power of two (docs/benchmarks/ has the figures).
 */
export class RollingWindow {
  readonly windowMs: number
  readonly clockSkewMs: number
  readonly #clock: Clock
  readonly #rings: Float64Array[]
  readonly #sizes: number[]
  readonly #amount = new Float64Array(LIMB_COUNT)
  readonly #total = new Float64Array(LIMB_COUNT)
  #min = Number.POSITIVE_INFINITY
  #max = Number.NEGATIVE_INFINITY
  readonly #quantiles: QuantileKeeper | undefined
  #latest = Number.NEGATIVE_INFINITY
  #epoch = 0
  /**
   * The last snapshot and the instant it was taken. A snapshot depends only on `now` and on what
   * was stored, so until either changes the same answer is returned: concurrent reads within one
   * millisecond cost one walk of the slots. `record` and `clear` drop it.
   */
  #cached: Readonly<Statistics> | undefined
  #cachedAt = Number.NaN
  /** The same for the last query: its answer, what it asked and when. */
  #queried: { key: string; at: number; answer: Readonly<Statistics> } | undefined

  /**
   * @throws RangeError for a windowMs that is not a positive integer, a clockSkewMs that is not a
   * non-negative one, or quantile options the keeper refuses
   */
  constructor(options: WindowOptions = {}) {
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS
    this.clockSkewMs = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS
    if (!Number.isSafeInteger(this.windowMs) || this.windowMs < 1) {
      throw new RangeError('windowMs must be a positive integer')
    }
    if (!Number.isSafeInteger(this.clockSkewMs) || this.clockSkewMs < 0) {
      throw new RangeError('clockSkewMs must be a non-negative integer')
    }
    this.#clock = options.clock ?? systemClock
    this.#sizes = ringSlots(this.windowMs, this.clockSkewMs)
    this.#rings = this.#sizes.map((slots) => new Float64Array(slots * STRIDE))
    if (options.quantiles) {
      const shape = { windowMs: this.windowMs, clockSkewMs: this.clockSkewMs, sizes: this.#sizes }
      this.#quantiles = options.quantiles(shape)
    }
    this.clear()
  }

  /** The bytes the quantile sketches are charged (0 when they are off): within their budget. */
  get quantileBytes(): number {
    return this.#quantiles?.bytes(this.now()) ?? 0
  }

  /**
   * The window's current instant, in epoch milliseconds. Twin: `advance` in the Redis scripts.
   * The sketches are not kept up here: a read that asks no quantiles pays nothing for them, and
   * the two paths that touch them (record, and a query with quantiles) forget what left first.
   */
  now(): number {
    const reading = Math.floor(this.#clock())
    if (reading > this.#latest) {
      this.#latest = reading
    } else if (reading <= this.#latest - this.windowMs) {
      this.#restart(reading)
    }
    return this.#latest
  }

  /** Starts afresh at `reading`, a whole window or more behind the latest instant. */
  #restart(reading: number): void {
    this.#latest = reading
    this.#epoch++
    this.clear()
  }

  /**
   * How many times the window has started afresh on its own (its clock stepping back a whole
   * window or more), so that what is kept beside it (dimensions) can start afresh with it.
   */
  get epoch(): number {
    return this.#epoch
  }

  /** Stores a transaction, unless it is too old, too far in the future or not exact data. */
  record(amount: number, timestampMs: number): RecordOutcome {
    if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) return 'invalidTimestamp'
    const now = this.now()
    if (timestampMs <= now - this.windowMs) return 'tooOld'
    if (timestampMs > now + this.clockSkewMs) return 'tooFarInFuture'
    if (!writeLimbs(amount, this.#amount, 0)) return 'invalidAmount'
    const value = amount === 0 ? 0 : amount // -0 and 0 are the same amount
    for (let level = 0; level < LEVELS.length; level++) {
      this.#add(level, Math.floor(timestampMs / (LEVELS[level] as number)), value)
    }
    this.#quantiles?.record(timestampMs, value, now)
    this.#cached = undefined
    this.#queried = undefined
    return 'stored'
  }

  /**
   * The five numbers of a snapshot (of the last windowMs ms when asked), and the quantiles asked
   * for, each within the mapping's accuracy of the amount at rank ⌊q × (n − 1)⌋ of the sorted
   * amounts of the same set, clamped to that set's exact min and max. quantileEdgeMs says how the
   * set was cut (see BlockSketches.merge). Each quantile a number in [0, 1]. The five numbers and
   * the quantiles are of one instant: the clock is read once.
   */
  query(query: StatisticsQuery): Readonly<Statistics> {
    const windowMs = query.windowMs ?? this.windowMs
    const now = this.now()
    const statistics = this.#snapshotAt(now, windowMs)
    const quantiles = query.quantiles
    if (quantiles === undefined) return statistics
    const keeper = this.#quantiles
    if (keeper === undefined) throw new Error('this window keeps no quantile sketches')
    const key = queryKey(query)
    const queried = this.#queried
    if (queried !== undefined && queried.at === now && queried.key === key) return queried.answer
    const answer = keeper.answer(quantiles, now, windowMs, statistics, (from, to) =>
      this.#aggregate(from, to),
    )
    const result = { ...statistics, quantiles: answer.quantiles, quantileEdgeMs: answer.edgeMs }
    this.#queried = { key, at: now, answer: result }
    return result
  }

  /**
   * Statistics over exactly the transactions with now - windowMs < timestamp <= now, where windowMs
   * is the window's length unless a shorter one (at least 1 ms) is asked for.
   */
  snapshot(windowMs: number = this.windowMs): Readonly<Statistics> {
    return this.#snapshotAt(this.now(), windowMs)
  }

  #snapshotAt(now: number, windowMs: number): Readonly<Statistics> {
    if (windowMs !== this.windowMs) return this.#aggregate(now - this.#checked(windowMs) + 1, now)
    if (this.#cached !== undefined && this.#cachedAt === now) return this.#cached
    this.#cached = this.#aggregate(now - this.windowMs + 1, now)
    this.#cachedAt = now
    return this.#cached
  }

  /**
   * The window's transactions per second, oldest first: one point for every second that meets
   * the window, the two edge seconds cut exactly at the window's edges. O(window / 1 s) points.
   * windowMs as for snapshot.
   */
  series(windowMs: number = this.windowMs): Series {
    const now = this.now()
    const first = now - this.#checked(windowMs) + 1
    const points: SeriesPoint[] = []
    for (let second = Math.floor(first / COARSEST); second * COARSEST <= now; second++) {
      const from = Math.max(first, second * COARSEST)
      const to = Math.min(now, second * COARSEST + COARSEST - 1)
      const { sum, min, max, count } = this.#aggregate(from, to)
      points.push({ second, count, sum, min, max })
    }
    return { at: now, windowMs: windowMs, points }
  }

  #checked(windowMs: number): number {
    return checkQueryWindow(windowMs, this.windowMs)
  }

  /**
   * The raw aggregate (count, exact limb sums, min, max) of the last windowMs ms, for adding to
   * others exactly (see dimensions.ts).
   */
  aggregate(windowMs: number = this.windowMs): Aggregate {
    const now = this.now()
    const count = this.#walk(now - this.#checked(windowMs) + 1, now)
    const aggregate = emptyAggregate()
    if (count === 0) return aggregate
    aggregate.count = count
    aggregate.limbs.set(this.#total)
    aggregate.min = this.#min
    aggregate.max = this.#max
    return aggregate
  }

  /**
   * Statistics of the transactions with from <= timestamp <= to, an interval inside the window.
   * Twin: `aggregate` in the Redis scripts.
   */
  #aggregate(from: number, to: number): Statistics {
    const count = this.#walk(from, to)
    if (count === 0) return EMPTY_STATISTICS
    const statistics = { sum: 0, avg: 0, max: this.#max, min: this.#min, count }
    writeSumAndMean(this.#total, count, statistics)
    return statistics
  }

  /** Sums [from, to] into #total, #min and #max; returns the count. */
  #walk(from: number, to: number): number {
    let count = 0
    let min = Number.POSITIVE_INFINITY
    let max = Number.NEGATIVE_INFINITY
    // Raw limb sums, without carrying: at most a few hundred slots of limbs under 10^9 (the top
    // one growing by at most 1 001 a transaction) add up far below 2^53, where doubles are exact.
    let l0 = 0
    let l1 = 0
    let l2 = 0
    let l3 = 0
    let l4 = 0
    // Offsets from a base aligned to every level keep the alignment tests on small integers.
    const base = Math.floor(from / COARSEST) * COARSEST
    const last = to - base
    for (let offset = from - base; offset <= last; ) {
      const level = coarsestLevel(offset, last)
      const size = LEVELS[level] as number
      const block = (base + offset) / size
      const ring = this.#rings[level] as Float64Array
      const row = this.#row(level, block)
      // Stale rows are multiplied by zero rather than skipped: a snapshot costs the same
      // whatever the window holds.
      const live = ring[row + TAG] === block ? 1 : 0
      count += live * (ring[row + COUNT] as number)
      l0 += live * (ring[row + SUM] as number)
      l1 += live * (ring[row + SUM + 1] as number)
      l2 += live * (ring[row + SUM + 2] as number)
      l3 += live * (ring[row + SUM + 3] as number)
      l4 += live * (ring[row + SUM + 4] as number)
      const low = ring[row + MIN] as number
      const high = ring[row + MAX] as number
      min = live === 1 && low < min ? low : min
      max = live === 1 && high > max ? high : max
      offset += size
    }
    const total = this.#total
    total[0] = l0
    total[1] = l1
    total[2] = l2
    total[3] = l3
    total[4] = l4
    this.#min = min
    this.#max = max
    return count
  }

  /** Forgets every transaction. O(memory), so not for the hot path. */
  clear(): void {
    this.#cached = undefined
    this.#queried = undefined
    this.#quantiles?.clear(this.#latest - this.windowMs + 1)
    for (const ring of this.#rings) {
      for (let row = 0; row < ring.length; row += STRIDE) ring[row + TAG] = NO_BLOCK
    }
  }

  #add(level: number, block: number, amount: number): void {
    const ring = this.#rings[level] as Float64Array
    const row = this.#row(level, block)
    if (ring[row + TAG] !== block) {
      ring.fill(0, row, row + STRIDE)
      ring[row + TAG] = block
      ring[row + MIN] = amount
      ring[row + MAX] = amount
    } else {
      if (amount < (ring[row + MIN] as number)) ring[row + MIN] = amount
      if (amount > (ring[row + MAX] as number)) ring[row + MAX] = amount
    }
    ring[row + COUNT] = (ring[row + COUNT] as number) + 1
    addLimbs(ring, row + SUM, this.#amount, 0)
  }

  #row(level: number, block: number): number {
    const slots = this.#sizes[level] as number
    return (block - Math.floor(block / slots) * slots) * STRIDE
  }
}

/** Whether a window of windowMs can answer for its last `asked` ms: an integer from 1 to windowMs. */
export function isQueryWindow(asked: number, windowMs: number): boolean {
  return Number.isSafeInteger(asked) && asked >= 1 && asked <= windowMs
}

/**
 * `asked`, when a window of windowMs can answer for its last `asked` ms.
 * @throws RangeError otherwise
 */
export function checkQueryWindow(asked: number, windowMs: number): number {
  if (!isQueryWindow(asked, windowMs)) {
    throw new RangeError(`windowMs must be an integer from 1 to the window, ${windowMs}`)
  }
  return asked
}
