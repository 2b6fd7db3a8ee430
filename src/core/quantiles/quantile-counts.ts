import type { QuantileMapping } from './quantile-mapping.js'
import { quantileRank } from './quantile-rank.js'

/** Counts per index in chunks of 64, so that a walk to a rank skips whole chunks. */
const CHUNK_BITS = 6

/**
 * A count per mapping index, dense. Both stores answer quantiles from one, the memory store from
 * its blocks, the Redis store from its shards' replies, so that both pick the same index for the
 * same counts. Counts may be negative where blocks are taken out of a base (see answer): only
 * their sum with the base is a histogram.
 */
export class QuantileCounts {
  readonly mapping: QuantileMapping
  /** The sum of the counts. */
  total = 0
  readonly #counts: Float64Array
  readonly #chunks: Float64Array
  /** Chunks added to since the last clear: those a clear must zero. */
  readonly #dirty: Uint8Array

  constructor(mapping: QuantileMapping) {
    this.mapping = mapping
    this.#counts = new Float64Array(mapping.size)
    this.#chunks = new Float64Array((mapping.size >> CHUNK_BITS) + 1)
    this.#dirty = new Uint8Array(this.#chunks.length)
  }

  add(index: number, count: number): void {
    const chunk = index >> CHUNK_BITS
    this.#counts[index] = (this.#counts[index] as number) + count
    this.#chunks[chunk] = (this.#chunks[chunk] as number) + count
    this.#dirty[chunk] = 1
    this.total += count
  }

  /**
   * Each quantile q asked, keyed by its shortest decimal: the value of the index holding rank
   * ⌊q × (n − 1)⌋ of these counts plus base's (n their total, the rank exact: quantileRank),
   * clamped to [min, max], the exact extremes of the set counted. The first rank is min and the
   * last is max exactly (so q = 0 and q = 1 are the exact min and max, not their buckets' values);
   * all 0 when nothing was counted. Then clears these counts (not base's) for the next answer.
   */
  answer(
    quantiles: readonly number[],
    min: number,
    max: number,
    base?: QuantileCounts,
  ): Record<string, number> {
    const values = new Array<number>(quantiles.length).fill(0)
    const total = this.total + (base?.total ?? 0)
    if (total > 0) {
      const ranks = quantiles.map((q) => quantileRank(q, total))
      const order = ranks
        .map((_, i) => i)
        .sort((a, b) => (ranks[a] as number) - (ranks[b] as number))
      const indices = this.#indicesOf(
        order.map((i) => ranks[i] as number),
        base,
      )
      order.forEach((i, k) => {
        const rank = ranks[i] as number
        const value = this.mapping.value(indices[k] as number)
        values[i] =
          rank === 0 ? min : rank === total - 1 ? max : Math.max(min, Math.min(value, max))
      })
    }
    this.clear()
    const answer: Record<string, number> = {}
    quantiles.forEach((q, i) => {
      answer[String(q)] = values[i] as number
    })
    return answer
  }

  /** An index's count. */
  get(index: number): number {
    return this.#counts[index] as number
  }

  /** Calls visit with each index whose count is not 0, in order. */
  forEach(visit: (index: number, count: number) => void): void {
    const counts = this.#counts
    const dirty = this.#dirty
    for (let chunk = 0; chunk < dirty.length; chunk++) {
      if (dirty[chunk] === 0) continue
      const end = Math.min((chunk + 1) << CHUNK_BITS, counts.length)
      for (let index = chunk << CHUNK_BITS; index < end; index++) {
        const count = counts[index] as number
        if (count !== 0) visit(index, count)
      }
    }
  }

  /** Forgets every count. */
  clear(): void {
    const dirty = this.#dirty
    for (let chunk = 0; chunk < dirty.length; chunk++) {
      if (dirty[chunk] === 0) continue
      dirty[chunk] = 0
      this.#chunks[chunk] = 0
      this.#counts.fill(0, chunk << CHUNK_BITS, (chunk + 1) << CHUNK_BITS)
    }
    this.total = 0
  }

  /** The index holding each rank (0-based, ascending) of these counts plus base's. */
  #indicesOf(sortedRanks: readonly number[], base: QuantileCounts | undefined): number[] {
    const counts = this.#counts
    const chunks = this.#chunks
    const baseCounts = base === undefined ? undefined : base.#counts
    const baseChunks = base === undefined ? undefined : base.#chunks
    const found: number[] = []
    let below = 0
    let next = 0
    for (let chunk = 0; chunk < chunks.length && next < sortedRanks.length; chunk++) {
      const inChunk = (chunks[chunk] as number) + (baseChunks ? (baseChunks[chunk] as number) : 0)
      if (below + inChunk <= (sortedRanks[next] as number)) {
        below += inChunk
        continue
      }
      const end = Math.min((chunk + 1) << CHUNK_BITS, counts.length)
      for (let index = chunk << CHUNK_BITS; index < end; index++) {
        below += (counts[index] as number) + (baseCounts ? (baseCounts[index] as number) : 0)
        while (next < sortedRanks.length && (sortedRanks[next] as number) < below) {
          found.push(index)
          next++
        }
      }
    }
    return found
  }
}
