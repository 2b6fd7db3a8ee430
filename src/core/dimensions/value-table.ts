import type { Aggregate } from '../amount/aggregate.js'
import { LIMB_BASE, LIMB_COUNT } from '../amount/amount.js'
import { addLimbs } from '../amount/exact-sum.js'

/**
 * The aggregates of many values, in columns, so that a breakdown over thousands of values
 * allocates nothing per value: row i holds names[i], its count, limbs, min, max and whether it
 * may be incomplete. `add` merges into a value's row (the shards of Redis), making one if needed.
 */
export class ValueTable {
  readonly names: string[] = []
  #counts: Float64Array
  #limbs: Float64Array
  #mins: Float64Array
  #maxs: Float64Array
  #incomplete: Uint8Array
  readonly #rows = new Map<string, number>()
  #size = 0

  constructor(capacity = 16) {
    this.#counts = new Float64Array(capacity)
    this.#limbs = new Float64Array(capacity * LIMB_COUNT)
    this.#mins = new Float64Array(capacity)
    this.#maxs = new Float64Array(capacity)
    this.#incomplete = new Uint8Array(capacity)
  }

  get size(): number {
    return this.#size
  }

  clear(): void {
    this.#size = 0
    this.names.length = 0
    this.#rows.clear()
  }

  /** Adds an aggregate to a value's row; `incomplete` once true stays true. */
  add(name: string, aggregate: Aggregate, incomplete: boolean): void {
    let row = this.#rows.get(name)
    if (row === undefined) {
      row = this.#size++
      if (row === this.#counts.length) this.#grow()
      this.#rows.set(name, row)
      this.names[row] = name
      this.#counts[row] = 0
      this.#limbs.fill(0, row * LIMB_COUNT, (row + 1) * LIMB_COUNT)
      this.#mins[row] = Number.POSITIVE_INFINITY
      this.#maxs[row] = Number.NEGATIVE_INFINITY
      this.#incomplete[row] = 0
    }
    this.#counts[row] = (this.#counts[row] as number) + aggregate.count
    addLimbs(this.#limbs, row * LIMB_COUNT, aggregate.limbs, 0)
    if (aggregate.min < (this.#mins[row] as number)) this.#mins[row] = aggregate.min
    if (aggregate.max > (this.#maxs[row] as number)) this.#maxs[row] = aggregate.max
    if (incomplete) this.#incomplete[row] = 1
  }

  /** Marks a value incomplete, if it has a row. */
  markIncomplete(name: string): void {
    const row = this.#rows.get(name)
    if (row !== undefined) this.#incomplete[row] = 1
  }

  count(row: number): number {
    return this.#counts[row] as number
  }

  incomplete(row: number): boolean {
    return this.#incomplete[row] === 1
  }

  /** The sign of row a's exact sum minus row b's. */
  compareSums(a: number, b: number): number {
    const limbs = this.#limbs
    let carry = 0
    let nonzero = false
    // Carried up so that every limb but the top lies in [0, LIMB_BASE): the top's sign is then
    // the difference's, and with a top of 0 the difference is 0 only if every limb is.
    for (let i = 0; i < LIMB_COUNT - 1; i++) {
      const limb =
        (limbs[a * LIMB_COUNT + i] as number) - (limbs[b * LIMB_COUNT + i] as number) + carry
      carry = Math.floor(limb / LIMB_BASE)
      if (limb - carry * LIMB_BASE !== 0) nonzero = true
    }
    const top =
      (limbs[a * LIMB_COUNT + LIMB_COUNT - 1] as number) -
      (limbs[b * LIMB_COUNT + LIMB_COUNT - 1] as number) +
      carry
    if (top !== 0) return Math.sign(top)
    return nonzero ? 1 : 0
  }

  /** Adds row `row` into an aggregate. */
  addTo(into: Aggregate, row: number): void {
    into.count += this.#counts[row] as number
    addLimbs(into.limbs, 0, this.#limbs, row * LIMB_COUNT)
    if ((this.#mins[row] as number) < into.min) into.min = this.#mins[row] as number
    if ((this.#maxs[row] as number) > into.max) into.max = this.#maxs[row] as number
  }

  #grow(): void {
    const grow = <T extends Float64Array | Uint8Array>(old: T, width = 1): T => {
      const larger = new (old.constructor as new (n: number) => T)(old.length * 2 || width)
      larger.set(old)
      return larger
    }
    this.#counts = grow(this.#counts)
    this.#limbs = grow(this.#limbs, LIMB_COUNT)
    this.#mins = grow(this.#mins)
    this.#maxs = grow(this.#maxs)
    this.#incomplete = grow(this.#incomplete)
  }
}
