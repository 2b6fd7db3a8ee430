import type { QuantileMapping } from './quantile-mapping.js'

/** Counts per index in chunks of 64, so that a walk to a rank skips whole chunks. */
const CHUNK_BITS = 6

/**
 * Sketches merged: a count per mapping index, dense, reused from one answer to the next. Both
 * stores answer quantiles from it, the memory store from its blocks, the Redis store from its
 * shards' replies, so that both pick the same index for the same counts.
 */
export class QuantileCounts {
  readonly mapping: QuantileMapping
  /** Transactions counted since the last answer. */
  total = 0
  readonly #counts: Float64Array
  readonly #chunks: Float64Array

  constructor(mapping: QuantileMapping) {
    this.mapping = mapping
    this.#counts = new Float64Array(mapping.size)
    this.#chunks = new Float64Array((mapping.size >> CHUNK_BITS) + 1)
  }

  add(index: number, count: number): void {
    this.#counts[index] = (this.#counts[index] as number) + count
    this.#chunks[index >> CHUNK_BITS] = (this.#chunks[index >> CHUNK_BITS] as number) + count
    this.total += count
  }

  /**
   * Each quantile q asked, keyed by its shortest decimal: the value of the index holding rank
   * ⌊q × (total − 1)⌋, clamped to [min, max], the exact extremes of the set counted (so q = 0 and
   * q = 1 are exact); all 0 when nothing was counted. Then clears the counts for the next answer.
   */
  answer(quantiles: readonly number[], min: number, max: number): Record<string, number> {
    const values = new Array<number>(quantiles.length).fill(0)
    if (this.total > 0) {
      const ranks = quantiles.map((q) => Math.floor(q * (this.total - 1)))
      const order = ranks
        .map((_, i) => i)
        .sort((a, b) => (ranks[a] as number) - (ranks[b] as number))
      const indices = this.#indicesOf(order.map((i) => ranks[i] as number))
      order.forEach((i, k) => {
        const value = this.mapping.value(indices[k] as number)
        values[i] = Math.max(min, Math.min(value, max))
      })
    }
    this.#clear()
    const answer: Record<string, number> = {}
    quantiles.forEach((q, i) => {
      answer[String(q)] = values[i] as number
    })
    return answer
  }

  /** The index holding each rank (0-based, ascending). */
  #indicesOf(sortedRanks: readonly number[]): number[] {
    const counts = this.#counts
    const chunks = this.#chunks
    const found: number[] = []
    let below = 0
    let next = 0
    for (let chunk = 0; chunk < chunks.length && next < sortedRanks.length; chunk++) {
      const inChunk = chunks[chunk] as number
      if (below + inChunk <= (sortedRanks[next] as number)) {
        below += inChunk
        continue
      }
      const end = Math.min((chunk + 1) << CHUNK_BITS, counts.length)
      for (let index = chunk << CHUNK_BITS; index < end; index++) {
        below += counts[index] as number
        while (next < sortedRanks.length && (sortedRanks[next] as number) < below) {
          found.push(index)
          next++
        }
      }
    }
    return found
  }

  #clear(): void {
    const chunks = this.#chunks
    for (let chunk = 0; chunk < chunks.length; chunk++) {
      if (chunks[chunk] === 0) continue
      chunks[chunk] = 0
      this.#counts.fill(0, chunk << CHUNK_BITS, (chunk + 1) << CHUNK_BITS)
    }
    this.total = 0
  }
}
