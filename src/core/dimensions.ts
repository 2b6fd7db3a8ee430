import { LIMB_COUNT } from './amount.js'
import { addLimbs, limbsToBigInt, writeSumAndMean } from './exact-sum.js'
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
 * A value: 1 to MAX_VALUE_LENGTH printable characters (letters, marks, digits, punctuation,
 * symbols and spaces of any script; no control, format, private-use or unassigned ones), for JSON
 * Schema's pattern (Unicode-aware).
 */
export const VALUE_PATTERN = '^[\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}\\p{Zs}]+$'
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
    [...value].length <= MAX_VALUE_LENGTH &&
    VALUE.test(value)
  )
}

/** The value a transaction carries for a dimension; undefined when it carries none. */
export function labelOf(transaction: object, dimension: string): string | undefined {
  const value = (transaction as Record<string, unknown>)[dimension]
  return isDimensionValue(value) ? value : undefined
}

/** The statistics of one value, and whether some of its transactions may be missing from them. */
export interface ValueStatistics extends Statistics {
  /**
   * True while transactions of this value may have been counted in the dimension's overflow
   * (see design.md, "Dimensions"): the numbers are then a lower bound of the value's count.
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

export interface ValueAggregate extends Aggregate {
  value: string
  incomplete: boolean
}

/**
 * A breakdown from every value's aggregate (those with transactions in the span), the overflow's
 * and the missing ones': the top `limit` by exact sum or count, ties ordered by value (code unit
 * order), the rest folded into `other`. Both stores answer through this, so they rank alike.
 */
export function rankBreakdown(
  query: BreakdownQuery,
  values: readonly ValueAggregate[],
  overflow: Aggregate,
  missing: Aggregate,
): Breakdown {
  const ranked = values.filter((value) => value.count > 0)
  const sums = new Map<ValueAggregate, bigint>()
  if (query.order === 'sum') for (const v of ranked) sums.set(v, limbsToBigInt(v.limbs, 0))
  ranked.sort((a, b) => {
    if (query.order === 'count') {
      if (a.count !== b.count) return b.count - a.count
    } else {
      const difference = (sums.get(b) as bigint) - (sums.get(a) as bigint)
      if (difference !== 0n) return difference > 0n ? 1 : -1
    }
    return a.value < b.value ? -1 : a.value > b.value ? 1 : 0
  })
  const other = emptyAggregate()
  addAggregate(other, overflow)
  for (const unlisted of ranked.slice(query.limit)) addAggregate(other, unlisted)
  return {
    by: query.dimension,
    order: query.order,
    values: ranked.slice(0, query.limit).map((entry) => ({
      value: entry.value,
      ...statisticsOf(entry),
      incomplete: entry.incomplete,
    })),
    other: statisticsOf(other),
    missing: statisticsOf(missing),
  }
}
