import { coarsestLevel, LEVELS } from '../blocks/levels.js'
import { QuantileCounts } from './quantile-counts.js'
import type { QuantileMapping } from './quantile-mapping.js'
import { SketchTable } from './sketch-table.js'

/**
 * What a block's sketch is charged: a table's own size, and each of its entries. Both are more
 * than V8 takes for a SketchTable and its typed array (whose slots are at most half used), so the
 * charged total bounds the memory the sketches use. The Redis scripts charge the same figures, so
 * both stores free by the same rule.
 */
export const SKETCH_BYTES = 200
export const SKETCH_ENTRY_BYTES = 56

/**
 * Freed tables kept per level for reuse. Few are needed (blocks are freed about as often as new
 * ones start), and they hold memory the budget does not see, so they are few.
 */
const SPARE_TABLES = 16

/** What a merge counted: the interval, and how exact its edges were. */
export interface MergedSketch {
  /** The interval whose transactions were counted: [from, to], widened at most edgeMs - 1. */
  from: number
  to: number
  /** 1 when the set is exactly the one asked; otherwise the block size the edges were cut at. */
  edgeMs: number
  /** Counts the merged counts are relative to, when the merge took blocks out of them. */
  base: QuantileCounts | undefined
}

/**
 * A sketch of the amounts of every block the window holds: for each level's block, a table of
 * mapping index to count (SketchTable). Recording adds one count per level; a snapshot merges
 * the same blocks the window's exact numbers are taken from, so the quantiles are of exactly the
 * same set. On Redis, each writer keeps its own (src/store/redis/partition-sketches.ts), and the
 * read script cuts edges and takes the sum of the seconds as merge does (cutEdges, readSketches
 * in src/store/redis/lua/sketches.lua).
 *
 * Memory is bounded by a budget, never by traffic. A level's blocks before `kept[level]` hold no
 * sketch: they are freed as they leave the window, and, when the budget would be exceeded, the
 * oldest blocks of the finest level still kept are freed early (all of level 0's, oldest first,
 * then level 1's, then level 2's). The whole-second level is never freed early: it is the floor
 * the budget must hold (see quantileFloorBytes). A snapshot whose edge falls in a freed block is cut at the
 * next coarser level instead, and says so (edgeMs): never a silently wider set.
 */
export class BlockSketches {
  readonly mapping: QuantileMapping
  readonly #levels: readonly number[]
  readonly #tags: Float64Array[]
  readonly #sketches: Array<Array<SketchTable | undefined>>
  /** Per level, the first block that may hold a sketch: every block before it holds none. */
  readonly #kept: number[]
  readonly #budgetBytes: number
  /**
   * The sum of every whole-second sketch held: a read of a long interval starts from it and takes
   * out the few seconds outside, rather than adding up every second inside.
   */
  readonly #seconds: QuantileCounts
  /** Per level, freed tables kept for the next blocks (see SketchTable.reset). */
  readonly #spare: SketchTable[][]
  #bytes = 0

  /** slots: per level of LEVELS, how many blocks its ring holds (a power of two). */
  constructor(mapping: QuantileMapping, slots: readonly number[], budgetBytes: number) {
    const levels = LEVELS
    this.mapping = mapping
    this.#levels = levels
    this.#tags = slots.map((n) => new Float64Array(n).fill(-1))
    this.#sketches = slots.map((n) => new Array<SketchTable | undefined>(n))
    this.#kept = levels.map(() => Number.NEGATIVE_INFINITY)
    this.#budgetBytes = budgetBytes
    this.#spare = levels.map(() => [])
    this.#seconds = new QuantileCounts(mapping)
  }

  /** The bytes charged now: within the budget, once the floor fits. */
  get bytes(): number {
    return this.#bytes
  }

  /**
   * Adds `count` amounts of one index at a timestamp the window has stored. newestMs: the last
   * instant a transaction can have now (the window's instant plus the skew).
   */
  record(timestampMs: number, index: number, newestMs: number, count = 1): void {
    const levels = this.#levels
    for (let level = 0; level < levels.length; level++) {
      const block = Math.floor(timestampMs / (levels[level] as number))
      if (block < (this.#kept[level] as number)) continue
      if (this.#sketch(level, block).increment(index, count)) this.#bytes += SKETCH_ENTRY_BYTES
      if (level === levels.length - 1) this.#seconds.add(index, count)
    }
    if (this.#bytes > this.#budgetBytes) this.#evict(newestMs, this.#budgetBytes)
  }

  /**
   * Frees blocks by the budget's rule (see #evict) until `bytes` more would fit: for a writer
   * that charges what it is about to add before adding it (the Redis store's partitions).
   */
  makeRoom(bytes: number, newestMs: number): void {
    if (this.#bytes + bytes > this.#budgetBytes) this.#evict(newestMs, this.#budgetBytes - bytes)
  }

  /** Whether a block holds a sketch. */
  holds(level: number, block: number): boolean {
    return (this.#tags[level] as Float64Array)[this.#slot(level, block)] === block
  }

  /** The sum of every whole-second sketch held. */
  get seconds(): Readonly<QuantileCounts> {
    return this.#seconds
  }

  /** The first block of a level that may hold a sketch: those before it hold none. */
  kept(level: number): number {
    return this.#kept[level] as number
  }

  /** How many amounts of an index a block holds: 0 when it holds no sketch. */
  countOf(level: number, block: number, index: number): number {
    if (!this.holds(level, block)) return 0
    return ((this.#sketches[level] as SketchTable[])[this.#slot(level, block)] as SketchTable).get(
      index,
    )
  }

  /**
   * Frees every block that ends before `oldestMs`, the first instant the window can still be
   * asked about. O(1) amortised: each block is freed once, and a long idle gap costs one sweep
   * of the slots.
   */
  forgetBefore(oldestMs: number): void {
    for (let level = 0; level < this.#levels.length; level++) {
      const first = Math.floor(oldestMs / (this.#levels[level] as number))
      const kept = this.#kept[level] as number
      if (first <= kept) continue
      const tags = this.#tags[level] as Float64Array
      if (first - kept >= tags.length) {
        for (let slot = 0; slot < tags.length; slot++) {
          if ((tags[slot] as number) < first) this.#free(level, slot)
        }
      } else {
        for (let block = kept; block < first; block++) {
          const slot = this.#slot(level, block)
          if (tags[slot] === block) this.#free(level, slot)
        }
      }
      this.#kept[level] = first
    }
  }

  /**
   * Adds the sketches of [from, to] to counts, cutting an edge at a coarser level where the finer
   * one was freed. When the interval holds more whole seconds than the window holds outside it,
   * counts get the seconds outside taken out instead, and the answer must add `base`.
   * newestMs: the last instant a transaction can have (the window's instant plus the skew).
   */
  merge(from: number, to: number, counts: QuantileCounts, newestMs: number): MergedSketch {
    let lo = from
    let hi = to
    let edgeMs = 1
    const levels = this.#levels
    for (let level = 0; level < levels.length - 1; level++) {
      const size = levels[level] as number
      const next = levels[level + 1] as number
      const kept = this.#kept[level] as number
      // Blocks of this level are read from lo up to the next coarser boundary...
      if (lo % next !== 0 && Math.floor(lo / size) < kept) {
        lo = Math.floor(lo / next) * next
        edgeMs = next
      }
      // ...and from the last coarser boundary up to hi.
      const start = Math.floor((hi + 1) / next) * next
      if ((hi + 1) % next !== 0 && start >= lo && start / size < kept) {
        hi = start + next - 1
        edgeMs = next
      }
    }
    const top = levels.length - 1
    const second = levels[top] as number
    const firstWhole = Math.ceil(lo / second)
    const lastWhole = Math.floor((hi + 1) / second) - 1
    const inside = lastWhole - firstWhole + 1
    const oldest = this.#kept[top] as number
    const newest = Math.floor(newestMs / second)
    const outside = Math.max(0, firstWhole - oldest) + Math.max(0, newest - lastWhole)
    if (inside <= outside) {
      this.#add(lo, hi, counts, 1)
      return { from: lo, to: hi, edgeMs, base: undefined }
    }
    for (let block = oldest; block < firstWhole; block++) this.#addBlock(top, block, counts, -1)
    for (let block = lastWhole + 1; block <= newest; block++) this.#addBlock(top, block, counts, -1)
    if (lo < firstWhole * second) this.#add(lo, firstWhole * second - 1, counts, 1)
    if (hi > lastWhole * second + second - 1) this.#add((lastWhole + 1) * second, hi, counts, 1)
    return { from: lo, to: hi, edgeMs, base: this.#seconds }
  }

  /** Adds the sketches of the blocks covering [from, to], the window's decomposition. */
  #add(from: number, to: number, counts: QuantileCounts, sign: number): void {
    const levels = this.#levels
    const coarsest = levels[levels.length - 1] as number
    const base = Math.floor(from / coarsest) * coarsest
    const last = to - base
    for (let offset = from - base; offset <= last; ) {
      const level = coarsestLevel(offset, last)
      const size = levels[level] as number
      this.#addBlock(level, (base + offset) / size, counts, sign)
      offset += size
    }
  }

  #addBlock(level: number, block: number, counts: QuantileCounts, sign: number): void {
    const slot = this.#slot(level, block)
    if ((this.#tags[level] as Float64Array)[slot] === block) {
      ;((this.#sketches[level] as SketchTable[])[slot] as SketchTable).addTo(counts, sign)
    }
  }

  /** Frees every sketch; blocks from the one holding oldestMs on are kept again. */
  clear(oldestMs: number): void {
    for (let level = 0; level < this.#levels.length; level++) {
      const tags = this.#tags[level] as Float64Array
      for (let slot = 0; slot < tags.length; slot++) this.#free(level, slot)
      this.#kept[level] = Math.floor(oldestMs / (this.#levels[level] as number))
    }
  }

  #sketch(level: number, block: number): SketchTable {
    const slot = this.#slot(level, block)
    const tags = this.#tags[level] as Float64Array
    const sketches = this.#sketches[level] as Array<SketchTable | undefined>
    if (tags[slot] !== block) {
      this.#free(level, slot)
      tags[slot] = block
      sketches[slot] = (this.#spare[level] as SketchTable[]).pop() ?? new SketchTable()
      this.#bytes += SKETCH_BYTES
    }
    return sketches[slot] as SketchTable
  }

  #free(level: number, slot: number): void {
    const sketches = this.#sketches[level] as Array<SketchTable | undefined>
    const sketch = sketches[slot]
    if (sketch === undefined) return
    this.#bytes -= SKETCH_BYTES + sketch.size * SKETCH_ENTRY_BYTES
    if (level === this.#levels.length - 1) sketch.addTo(this.#seconds, -1)
    sketches[slot] = undefined
    const spare = this.#spare[level] as SketchTable[]
    if (spare.length < SPARE_TABLES) {
      sketch.reset()
      spare.push(sketch)
    }
    ;(this.#tags[level] as Float64Array)[slot] = -1
  }

  /**
   * Frees the oldest kept blocks of the finest levels until at most `target` bytes are charged.
   * newestMs is the last instant a transaction can have now (the window's instant plus the
   * skew): a level kept past it holds nothing at all, and the next level is freed.
   */
  #evict(newestMs: number, target: number): void {
    for (let level = 0; level < this.#levels.length - 1; level++) {
      const newest = Math.floor(newestMs / (this.#levels[level] as number))
      const tags = this.#tags[level] as Float64Array
      // No block before the ring's span is held: where forgetBefore has not run yet (kept is
      // then -Infinity), freeing starts there.
      let block = Math.max(this.#kept[level] as number, newest - tags.length + 1)
      while (this.#bytes > target && block <= newest) {
        const slot = this.#slot(level, block)
        if (tags[slot] === block) this.#free(level, slot)
        block++
      }
      this.#kept[level] = block
      if (this.#bytes <= target) return
    }
  }

  #slot(level: number, block: number): number {
    const slots = (this.#tags[level] as Float64Array).length
    return block - Math.floor(block / slots) * slots
  }
}
