import type { QuantileCounts } from './quantile-counts.js'

const EMPTY = -1
const INITIAL_SLOTS = 8

/**
 * One block's sketch: a count per mapping index, as an open-addressing table in one Int32Array
 * of (index, count) pairs. A Map would do, but a record touches four of them, and a typed array
 * probed linearly costs a fraction of a Map's hashing and allocation. At most half the slots are
 * used; the table doubles when it would be fuller. Tables are reused (reset) rather than
 * dropped, so that a steady stream of blocks allocates nothing and leaves nothing to collect.
 */
export class SketchTable {
  /** Indices with a count: the entries the table is charged for. */
  size = 0
  #pairs: Int32Array
  #mask: number

  constructor() {
    this.#pairs = new Int32Array(INITIAL_SLOTS * 2).fill(EMPTY)
    this.#mask = INITIAL_SLOTS - 1
  }

  /** Adds count (at least 1) to an index's count; true when the index is new to the table. */
  increment(index: number, count = 1): boolean {
    const pairs = this.#pairs
    const mask = this.#mask
    for (let slot = Math.imul(index, 0x9e3779b1) >>> 0; ; slot++) {
      const at = (slot & mask) << 1
      const key = pairs[at] as number
      if (key === index) {
        pairs[at + 1] = (pairs[at + 1] as number) + count
        return false
      }
      if (key === EMPTY) {
        pairs[at] = index
        pairs[at + 1] = count
        if (++this.size * 2 > mask + 1) this.#grow()
        return true
      }
    }
  }

  /** An index's count: 0 when the table holds none. */
  get(index: number): number {
    const pairs = this.#pairs
    const mask = this.#mask
    for (let slot = Math.imul(index, 0x9e3779b1) >>> 0; ; slot++) {
      const at = (slot & mask) << 1
      const key = pairs[at] as number
      if (key === index) return pairs[at + 1] as number
      if (key === EMPTY) return 0
    }
  }

  /** Empties the table for another block, keeping its capacity: no allocation. */
  reset(): void {
    if (this.size === 0) return
    this.#pairs.fill(EMPTY)
    this.size = 0
  }

  /** Adds every count to counts, times sign (-1 takes the table out). */
  addTo(counts: QuantileCounts, sign = 1): void {
    const pairs = this.#pairs
    for (let at = 0; at < pairs.length; at += 2) {
      const index = pairs[at] as number
      if (index !== EMPTY) counts.add(index, sign * (pairs[at + 1] as number))
    }
  }

  #grow(): void {
    const old = this.#pairs
    const slots = (this.#mask + 1) * 2
    const pairs = new Int32Array(slots * 2).fill(EMPTY)
    const mask = slots - 1
    for (let from = 0; from < old.length; from += 2) {
      const index = old[from] as number
      if (index === EMPTY) continue
      let slot = Math.imul(index, 0x9e3779b1) >>> 0
      while (pairs[(slot & mask) << 1] !== EMPTY) slot++
      const at = (slot & mask) << 1
      pairs[at] = index
      pairs[at + 1] = old[from + 1] as number
    }
    this.#pairs = pairs
    this.#mask = mask
  }
}
