import { LIMB_BASE, LIMB_COUNT } from './amount.js'
import { addLimbs, writeSumAndMean } from './exact-sum.js'
import { EMPTY_STATISTICS, type Statistics } from './statistics.js'

/**
 * Dimensions: named string fields of a transaction (currency, merchant, …) whose values the
 * window can be asked about one at a time. The rules here are the one place each lives: the
 * HTTP layer validates with them, both stores keep values by them.
 */

export const MAX_DIMENSIONS = 4
/** A dimension's name: what a transaction's field and a query's parameter are called. */
export const DIMENSION_NAME = /^[a-z][a-z0-9_]{0,31}$/
/** Names a dimension cannot take: the transaction's own fields, and the query's parameters. */
export const RESERVED_NAMES: readonly string[] = [
  'amount',
  'timestamp',
  'quantiles',
  'by',
  'order',
  'limit',
  'interval',
]
export const MAX_VALUE_LENGTH = 64
/**
 * A value: 1 to MAX_VALUE_LENGTH printable characters that a reader can tell apart, for JSON
 * Schema's pattern (Unicode-aware). Letters, marks, digits, punctuation and symbols of any script
 * and the plain space; no control, format, private-use or unassigned character, none that is
 * default-ignorable (variation selectors, joiners, fillers such as U+3164, which render as
 * nothing), no blank braille pattern, no other space (NBSP, U+3000). It starts with neither a
 * space nor a mark, ends without a space, holds a visible character, and does not mix Latin,
 * Greek and Cyrillic letters (a Cyrillic Е in "ЕUR" would read as EUR). Values are compared in
 * NFC (see labelOf): the same text composed or decomposed is one value.
 */
export const VALUE_PATTERN = [
  '^',
  '(?![ \\p{M}])', // no leading space or lone mark
  '(?!.*\\p{Script=Latin}.*[\\p{Script=Greek}\\p{Script=Cyrillic}])',
  '(?!.*\\p{Script=Greek}.*[\\p{Script=Latin}\\p{Script=Cyrillic}])',
  '(?!.*\\p{Script=Cyrillic}.*[\\p{Script=Latin}\\p{Script=Greek}])',
  '(?:(?![\\p{Default_Ignorable_Code_Point}\\u2800])[\\p{L}\\p{M}\\p{N}\\p{P}\\p{S} ])+',
  '(?<! )$',
].join('')
const VALUE = new RegExp(VALUE_PATTERN, 'u')

export const DEFAULT_MAX_VALUES = 1_000
export const MAX_MAX_VALUES = 10_000
/** The most a breakdown lists. */
export const MAX_BREAKDOWN_LIMIT = 1_000

/** The dimension names of a DIMENSIONS setting, or a RangeError saying what is wrong. */
export function parseDimensions(text: string): string[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
  if (names.length > MAX_DIMENSIONS) {
    throw new RangeError(`at most ${MAX_DIMENSIONS} dimensions`)
  }
  for (const name of names) {
    if (!DIMENSION_NAME.test(name) || RESERVED_NAMES.includes(name)) {
      throw new RangeError(
        `a dimension is named [a-z][a-z0-9_]{0,31} and not ${RESERVED_NAMES.join(', ')}: ${JSON.stringify(name)}`,
      )
    }
  }
  if (new Set(names).size !== names.length) throw new RangeError('a dimension is named twice')
  return names
}

/** Whether a field's content is a value a dimension keeps (the HTTP layer refuses the others). */
export function isDimensionValue(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    // A UTF-16 length within the bound is a length in characters within it.
    (value.length <= MAX_VALUE_LENGTH || [...value].length <= MAX_VALUE_LENGTH) &&
    VALUE.test(value)
  )
}

/**
 * The text a transaction carries in a dimension's field, in NFC; undefined when it carries none. Not yet
 * checked with isDimensionValue: the stores check a value once, when they first meet it.
 */
export function labelOf(transaction: object, dimension: string): string | undefined {
  const value = (transaction as Record<string, unknown>)[dimension]
  return typeof value === 'string' ? value.normalize('NFC') : undefined
}

/** The statistics of one value, and whether some of its transactions may be missing from them. */
export interface ValueStatistics extends Statistics {
  /**
   * True while transactions of this value may have been counted in the dimension's overflow
   * (docs/design/dimensions.md): the numbers are then a lower bound of the value's count.
   */
  incomplete: boolean
}

export interface BreakdownQuery {
  dimension: string
  order: 'sum' | 'count'
  limit: number
  spanMs?: number | undefined
}

export interface BreakdownEntry extends ValueStatistics {
  value: string
}

export interface Breakdown {
  by: string
  order: 'sum' | 'count'
  /** The top values, greatest first, ties by value. */
  values: BreakdownEntry[]
  /** Every transaction with the field that is not in values (the overflow included). */
  other: Statistics
  /** Every transaction without the field. */
  missing: Statistics
}

/** The raw statistics of a set: count, exact limb sums (not necessarily carried), min and max. */
export interface Aggregate {
  count: number
  limbs: Float64Array
  min: number
  max: number
}

export function emptyAggregate(): Aggregate {
  return {
    count: 0,
    limbs: new Float64Array(LIMB_COUNT),
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
  }
}

/** Adds one amount, whose limbs are `limbs` (see writeLimbs), into `into`, exactly. */
export function addAmount(into: Aggregate, limbs: Float64Array, amount: number): void {
  into.count++
  addLimbs(into.limbs, 0, limbs, 0)
  if (amount < into.min) into.min = amount
  if (amount > into.max) into.max = amount
}

/** Adds `from` into `into`, exactly. */
export function addAggregate(into: Aggregate, from: Aggregate): void {
  into.count += from.count
  addLimbs(into.limbs, 0, from.limbs, 0)
  if (from.min < into.min) into.min = from.min
  if (from.max > into.max) into.max = from.max
}

/** The five numbers of an aggregate, as the window reports them. */
export function statisticsOf(aggregate: Aggregate): Statistics {
  if (aggregate.count === 0) return { ...EMPTY_STATISTICS }
  const statistics = {
    sum: 0,
    avg: 0,
    max: aggregate.max,
    min: aggregate.min,
    count: aggregate.count,
  }
  writeSumAndMean(aggregate.limbs, aggregate.count, statistics)
  return statistics
}

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

/**
 * A breakdown from the values' rows (those with transactions in the span, or marked), the
 * overflow's and the missing ones' aggregates: the top `limit` by exact sum or count, ties
 * ordered by value (code unit order), the rest folded into `other`. Both stores answer through
 * this, so they rank alike.
 */
export function rankBreakdown(
  query: BreakdownQuery,
  table: ValueTable,
  overflow: Aggregate,
  missing: Aggregate,
): Breakdown {
  const rows: number[] = []
  for (let row = 0; row < table.size; row++) if (table.count(row) > 0) rows.push(row)
  const names = table.names
  rows.sort((a, b) => {
    const order =
      query.order === 'count' ? table.count(b) - table.count(a) : table.compareSums(b, a)
    if (order !== 0) return order
    const x = names[a] as string
    const y = names[b] as string
    return x < y ? -1 : x > y ? 1 : 0
  })
  const other = emptyAggregate()
  addAggregate(other, overflow)
  for (let k = query.limit; k < rows.length; k++) table.addTo(other, rows[k] as number)
  const one = emptyAggregate()
  return {
    by: query.dimension,
    order: query.order,
    values: rows.slice(0, query.limit).map((row) => {
      one.count = 0
      one.limbs.fill(0)
      one.min = Number.POSITIVE_INFINITY
      one.max = Number.NEGATIVE_INFINITY
      table.addTo(one, row)
      return {
        value: names[row] as string,
        ...statisticsOf(one),
        incomplete: table.incomplete(row),
      }
    }),
    other: statisticsOf(other),
    missing: statisticsOf(missing),
  }
}
